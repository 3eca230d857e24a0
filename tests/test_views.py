import asyncio
import json
import threading

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application

from notifications import views
from notifications.api import apublish
from notifications.hub import get_hub
from notifications.routing import http_application
from notifications.tasks.lifecycle import create_run
from notifications.views import StreamView

pytestmark = pytest.mark.django_db(transaction=True)


class SseExchange:
    """Drives the Django ASGI app in-process and parses what it streams."""

    def __init__(self, path, session=None, headers=(), application=None, method="GET", body=b""):
        path, _, query = path.partition("?")
        self.body_sent = body
        raw_headers = [(b"host", b"testserver"), *headers]
        if session:
            raw_headers.append((b"cookie", f"sessionid={session}".encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": raw_headers,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self.communicator = ApplicationCommunicator(application or get_asgi_application(), scope)
        self.buffer = b""
        self.ended = False

    async def start(self):
        await self.communicator.send_input(
            {"type": "http.request", "body": self.body_sent, "more_body": False}
        )
        start = await self.communicator.receive_output(5)
        self.status = start["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        return self

    async def chunk(self, timeout=3.0):
        message = await self.communicator.receive_output(timeout)
        self.ended = not message.get("more_body", False)
        return message.get("body", b"")

    async def message(self, timeout=3.0):
        """The next SSE message (comments included, as {"comment": [...]})."""
        while b"\n\n" not in self.buffer:
            self.buffer += await self.chunk(timeout)
        raw, self.buffer = self.buffer.split(b"\n\n", 1)
        fields = {}
        for line in raw.decode().split("\n"):
            name, _, value = line.partition(": ")
            fields.setdefault(name or "comment", []).append(value)
        return fields

    async def event(self, timeout=3.0):
        while "data" not in (message := await self.message(timeout)):
            pass
        return message

    async def body(self):
        chunks = [await self.chunk()]
        while not self.ended:
            chunks.append(await self.chunk())
        await self.communicator.wait(5)
        return b"".join(chunks)

    async def disconnect(self):
        await self.communicator.send_input({"type": "http.disconnect"})
        await self.communicator.wait(3)


@pytest.mark.parametrize(
    ("stream", "login", "status", "code"),
    [
        ("broadcast", False, 401, "not_authenticated"),
        ("user:999999", True, 403, "forbidden"),
        ("room:missing", True, 403, "forbidden"),
        ("Not%20A%20Key", True, 404, "invalid_stream"),
    ],
)
async def test_refused_streams_get_an_error_status_never_a_stream(
    make_user, stream, login, status, code
):
    _, session = await make_user("alice")
    exchange = await SseExchange(f"/live/events/{stream}/", session if login else None).start()
    assert exchange.status == status
    assert exchange.headers["content-type"] == "application/json"
    assert json.loads(await exchange.body())["error"] == code


async def test_stream_headers_retry_hint_and_live_events(make_user):
    alice, session = await make_user("alice")
    exchange = await SseExchange(f"/live/events/user:{alice.pk}/", session).start()
    assert exchange.status == 200
    assert exchange.headers["content-type"] == "text/event-stream"
    assert exchange.headers["cache-control"] == "no-cache"
    assert exchange.headers["x-accel-buffering"] == "no"
    first = await exchange.message()
    assert first["retry"] == ["2000"]
    await asyncio.sleep(0.1)
    await apublish(f"user:{alice.pk}", "note", {"text": "line one\nline two"})
    event = await exchange.event()
    assert event["id"] == ["1"] and event["event"] == ["note"]
    assert json.loads(event["data"][0])["data"] == {"text": "line one\nline two"}
    await exchange.disconnect()


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/live/events/broadcast/?since=2", []),
        ("/live/events/broadcast/", [(b"last-event-id", b"2")]),
        ("/live/events/broadcast/?since=0", [(b"last-event-id", b"2")]),
    ],
)
async def test_resume_with_last_event_id_or_since(make_user, path, headers):
    _, session = await make_user("alice")
    for n in range(4):
        await apublish("broadcast", "announcement", {"n": n})
    exchange = await SseExchange(path, session, headers).start()
    replayed = [await exchange.event() for _ in range(2)]
    assert [m["id"] for m in replayed] == [["3"], ["4"]]
    await exchange.disconnect()


async def test_garbage_cursor_gets_a_resync_event_carrying_the_head(make_user):
    _, session = await make_user("alice")
    await apublish("broadcast", "announcement")
    exchange = await SseExchange(
        "/live/events/broadcast/", session, [(b"last-event-id", b"abc")]
    ).start()
    resync = await exchange.event()
    assert resync["event"] == ["resync"] and resync["id"] == ["1"]
    assert json.loads(resync["data"][0]) == {
        "type": "resync",
        "stream": "broadcast",
        "seq": 1,
        "reason": "invalid",
    }
    await exchange.disconnect()


async def test_keepalive_comments_when_idle(make_user, settings):
    settings.NOTIFICATIONS = {"SSE_KEEPALIVE": 0.1}
    _, session = await make_user("alice")
    exchange = await SseExchange("/live/events/broadcast/", session).start()
    await exchange.message()
    assert (await exchange.message())["comment"] == ["keep-alive"]
    assert (await exchange.message())["comment"] == ["keep-alive"]
    await exchange.disconnect()


async def test_events_flow_uncompressed_and_unbuffered_under_gzip_middleware(make_user):
    _, session = await make_user("alice")
    exchange = await SseExchange(
        "/live/events/broadcast/", session, [(b"accept-encoding", b"gzip")]
    ).start()
    assert exchange.headers.get("content-encoding", "identity") == "identity"
    await exchange.message()
    await asyncio.sleep(0.1)
    await apublish("broadcast", "announcement", {"text": "now"})
    assert json.loads((await exchange.event())["data"][0])["data"] == {"text": "now"}
    await exchange.disconnect()


async def test_disconnect_ends_the_subscription(make_user):
    _, session = await make_user("alice")
    exchange = await SseExchange("/live/events/broadcast/", session).start()
    await exchange.message()
    await asyncio.sleep(0.1)
    hub = get_hub()
    assert (hub.stats()["connections"], len(hub.streams["broadcast"].subscribers)) == (1, 1)
    await exchange.disconnect()
    assert (hub.stats()["connections"], len(hub.streams["broadcast"].subscribers)) == (0, 0)


async def test_response_ends_after_its_byte_budget_and_resumes_without_loss(make_user, settings):
    settings.NOTIFICATIONS = {"SSE_MAX_BYTES": 600}
    _, session = await make_user("alice")
    for n in range(10):
        await apublish("broadcast", "announcement", {"n": n})
    seen, cursor = [], "0"
    while len(seen) < 10:
        exchange = await SseExchange(
            "/live/events/broadcast/", session, [(b"last-event-id", cursor.encode())]
        ).start()
        body = (await exchange.body()).decode()
        ids = [line[4:] for line in body.split("\n") if line.startswith("id: ")]
        assert ids, body
        seen += ids
        cursor = ids[-1]
    assert seen == [str(n) for n in range(1, 11)]


async def test_unnamed_mode_puts_every_event_on_onmessage_with_ping_messages(make_user, settings):
    settings.NOTIFICATIONS = {"SSE_KEEPALIVE": 0.1}
    _, session = await make_user("alice")
    await apublish("broadcast", "announcement", {"n": 1})
    exchange = await SseExchange("/live/events/broadcast/?named=0&since=0", session).start()
    await exchange.message()
    while "id" not in (event := await exchange.event()):
        assert json.loads(event["data"][0]) == {"type": "ping"}
    assert "event" not in event and event["id"] == ["1"]
    assert json.loads(event["data"][0])["event"] == "announcement"
    assert json.loads((await exchange.event())["data"][0]) == {"type": "ping"}
    await exchange.disconnect()


class TaskStreamView(StreamView):
    terminal_events = ("job.done", "job.failed")


async def test_terminal_event_ends_the_response_and_finished_streams_answer_204(
    make_user, settings
):
    settings.ROOT_URLCONF = "tests.urls"
    _, session = await make_user("alice", is_staff=True)
    done, running = [await sync_to_async(create_run)("app.tasks.job", (), {}) for _ in "ab"]
    for type in ("job.progress", "job.done"):
        await apublish(done.stream, type)
    exchange = await SseExchange(f"/task-events/{done.stream}/?since=1", session).start()
    body = (await exchange.body()).decode()
    assert "id: 2\n" in body and "id: 3\n" in body
    for cursor in ("3", None):
        headers = [(b"last-event-id", cursor.encode())] if cursor else []
        finished = await SseExchange(f"/task-events/{done.stream}/", session, headers).start()
        assert finished.status == 204
    running = await SseExchange(f"/task-events/{running.stream}/", session).start()
    assert running.status == 200
    await running.disconnect()


async def test_a_stream_served_without_http_application_says_it_keeps_a_thread(
    make_user, caplog, monkeypatch
):
    monkeypatch.setattr(views, "_warned", False)
    _, session = await make_user("alice")
    exchange = await SseExchange("/live/events/broadcast/", session).start()
    await exchange.message()
    assert "each open stream keeps a thread of its own" in caplog.text
    await exchange.disconnect()


async def test_event_stream_requests_share_one_thread_through_http_application(make_user):
    _, session = await make_user("alice")
    application = http_application(get_asgi_application())
    before = threading.active_count()
    accept = [(b"accept", b"text/event-stream")]
    exchanges = [
        await SseExchange("/live/events/broadcast/", session, accept, application).start()
        for _ in range(10)
    ]
    for exchange in exchanges:
        await exchange.message()
    assert threading.active_count() - before <= 2
    page = await SseExchange("/api/streams/broadcast/events/", session, [], application).start()
    assert page.status == 200
    for exchange in exchanges:
        await exchange.disconnect()


seen_requests = []


class RecordingStreamView(StreamView):
    def release_request(self, request):
        seen_requests.append(request)
        super().release_request(request)


async def test_a_started_stream_lets_go_of_what_the_request_no_longer_needs(make_user, settings):
    settings.ROOT_URLCONF = "tests.urls"
    alice, session = await make_user("alice")
    exchange = await SseExchange("/recorded-events/broadcast/?since=0", session).start()
    await exchange.message()
    request = seen_requests.pop()
    assert (request.method, request.path, request.user.pk) == (
        "GET",
        "/recorded-events/broadcast/",
        alice.pk,
    )
    assert not hasattr(request, "META") and not hasattr(request, "session")
    await apublish("broadcast", "announcement")
    assert (await exchange.event())["id"] == ["1"]
    await exchange.disconnect()
