import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from notifications.log import prune_events
from notifications.tasks import lifecycle
from notifications.tasks.models import TaskRun
from tests.clients import CSRF
from tests.test_views import SseExchange

pytestmark = pytest.mark.django_db(transaction=True)


def running_run(owner=None, outputs=()):
    run = lifecycle.create_run("tests.tasks.jobs.steps", (3, 0.0), {}, owner=owner)
    lifecycle.begin(str(run.pk))
    for text in outputs:
        lifecycle.record(str(run.pk), None, [text])
    return run


def progress(current, total, message=None):
    return lifecycle.Progress(current, total, message)


arunning_run = sync_to_async(running_run)
arecord = sync_to_async(lifecycle.record)
afinish = sync_to_async(lifecycle.finish)


async def test_a_run_streams_from_its_cursor_until_its_terminal_event(make_user):
    alice, session = await make_user("alice")
    run = await arunning_run(alice, ["one\n", "two\n"])
    exchange = await SseExchange(
        f"/live/tasks/{run.pk}/events/", session, [(b"last-event-id", b"3")]
    ).start()
    assert exchange.status == 200
    first = await exchange.event()
    assert first["id"] == ["4"] and first["event"] == ["task.output"]
    assert json.loads(first["data"][0])["data"] == {"text": "two\n"}
    await arecord(str(run.pk), progress(2, 3, "nearly"), ["three\n"])
    assert (await exchange.event())["event"] == ["task.progress"]
    assert json.loads((await exchange.event())["data"][0])["data"]["text"] == "three\n"
    await afinish(str(run.pk), "succeeded", result={"steps": 3})
    done = await exchange.event()
    assert done["event"] == ["task.succeeded"] and done["id"] == ["7"]
    assert json.loads(done["data"][0])["data"]["result"] == {"steps": 3}
    await exchange.body()
    assert exchange.ended
    for headers in ([(b"last-event-id", b"7")], []):
        finished = await SseExchange(f"/live/tasks/{run.pk}/events/", session, headers).start()
        assert finished.status == 204


async def test_another_users_run_is_not_found(make_user):
    alice, _ = await make_user("alice")
    _, bob_session = await make_user("bob")
    run = await arunning_run(alice)
    for path in (f"/live/tasks/{run.pk}/events/", f"/live/tasks/{run.pk}/ui-stream/"):
        refused = await SseExchange(path, bob_session).start()
        assert refused.status == 404
    anonymous = await SseExchange(f"/live/tasks/{run.pk}/events/").start()
    assert anonymous.status == 401


@pytest.mark.parametrize("cursor", [b"garbage", b"-1", b"99"])
async def test_a_cursor_that_cannot_be_honoured_gets_resync(make_user, cursor):
    alice, session = await make_user("alice")
    run = await arunning_run(alice, ["one\n"])
    exchange = await SseExchange(
        f"/live/tasks/{run.pk}/events/", session, [(b"last-event-id", cursor)]
    ).start()
    resync = await exchange.event()
    assert resync["event"] == ["resync"]
    await afinish(str(run.pk), "succeeded")
    await exchange.body()


async def test_a_pruned_cursor_gets_resync_at_the_head_then_live_events(make_user):
    alice, session = await make_user("alice")
    run = await arunning_run(alice, ["one\n", "two\n"])
    await sync_to_async(prune_events)(timezone.now() + timedelta(seconds=1), run.stream)
    await arecord(str(run.pk), None, ["three\n"])
    exchange = await SseExchange(
        f"/live/tasks/{run.pk}/events/", session, [(b"last-event-id", b"1")]
    ).start()
    resync = await exchange.event()
    details = json.loads(resync["data"][0])
    assert resync["event"] == ["resync"] and details["reason"] == "pruned"
    assert details["seq"] == 5
    await arecord(str(run.pk), None, ["four\n"])
    live = await exchange.event()
    assert live["id"] == ["6"] and json.loads(live["data"][0])["data"] == {"text": "four\n"}
    await afinish(str(run.pk), "succeeded")
    await exchange.body()


def ui_parts(body: bytes) -> list[dict]:
    parts = []
    for block in body.decode().split("\n\n"):
        data = [line[6:] for line in block.split("\n") if line.startswith("data: ")]
        if data:
            parts.append("[DONE]" if data == ["[DONE]"] else json.loads("\n".join(data)))
    return parts


async def test_the_text_output_speaks_the_ui_message_stream_protocol(make_user):
    alice, session = await make_user("alice")
    run = await arunning_run(alice, ["Hello", ", world"])
    await afinish(str(run.pk), "succeeded", texts=["!"], result=None)
    exchange = await SseExchange(f"/live/tasks/{run.pk}/ui-stream/", session).start()
    assert exchange.status == 200
    assert exchange.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert exchange.headers["content-type"].startswith("text/event-stream")
    parts = ui_parts(await exchange.body())
    text_id = f"text-{run.pk}"
    assert parts == [
        {"type": "start", "messageId": str(run.pk)},
        {"type": "text-start", "id": text_id},
        {"type": "text-delta", "id": text_id, "delta": "Hello"},
        {"type": "text-delta", "id": text_id, "delta": ", world"},
        {"type": "text-delta", "id": text_id, "delta": "!"},
        {"type": "text-end", "id": text_id},
        {"type": "finish"},
        "[DONE]",
    ]


async def test_a_failed_run_ends_its_text_with_an_error_part(make_user):
    alice, session = await make_user("alice")
    run = await arunning_run(alice, ["partial"])
    await afinish(str(run.pk), "failed", error=ValueError("no model"), reason="exception")
    exchange = await SseExchange(f"/live/tasks/{run.pk}/ui-stream/", session).start()
    parts = ui_parts(await exchange.body())
    assert {"type": "error", "errorText": "no model"} in parts
    assert parts[-2:] == [{"type": "finish"}, "[DONE]"]


def chat_request(session, body):
    cookie = f"csrftoken={CSRF}" + (f"; sessionid={session}" if session else "")
    headers = [
        (b"content-type", b"application/json"),
        (b"cookie", cookie.encode()),
        (b"x-csrftoken", CSRF.encode()),
    ]
    return SseExchange(
        "/live/tasks/chat", None, headers, method="POST", body=json.dumps(body).encode()
    )


def user_message(text):
    return {"id": "m1", "role": "user", "parts": [{"type": "text", "text": text}]}


async def test_use_chat_posts_start_a_run_and_stream_its_reply(
    make_user, settings, immediate_tasks
):
    settings.NOTIFICATIONS = {"CHAT_TASK": "tests.tasks.jobs.chat_reply"}
    alice, session = await make_user("alice")
    body = {"id": "chat-1", "messages": [user_message("hello there")], "trigger": "submit-message"}
    exchange = await chat_request(session, body).start()
    assert exchange.status == 200
    parts = ui_parts(await exchange.body())
    deltas = "".join(part["delta"] for part in parts if part != "[DONE]" and "delta" in part)
    assert deltas == "HELLO THERE " and parts[-1] == "[DONE]"
    run = await TaskRun.objects.aget(topic="chat-1")
    assert run.owner_id == alice.pk and parts[0] == {"type": "start", "messageId": str(run.pk)}
    replayed = await SseExchange("/live/tasks/chat/chat-1/stream", session).start()
    assert ui_parts(await replayed.body()) == parts
    finished_long_ago = timezone.now() - timedelta(minutes=2)
    await TaskRun.objects.filter(pk=run.pk).aupdate(finished_at=finished_long_ago)
    finished = await SseExchange("/live/tasks/chat/chat-1/stream", session).start()
    assert finished.status == 204


async def test_use_chat_resumes_an_unfinished_reply_from_its_first_chunk(
    make_user, settings, queued_tasks
):
    settings.NOTIFICATIONS = {"CHAT_TASK": "tests.tasks.jobs.chat_reply"}
    _, session = await make_user("alice")
    _, bob_session = await make_user("bob")
    body = {"id": "chat-2", "messages": [user_message("hi")]}
    started = await chat_request(session, body).start()
    assert started.status == 200
    run = await TaskRun.objects.aget(topic="chat-2")
    await sync_to_async(lifecycle.begin)(str(run.pk))
    await arecord(str(run.pk), None, ["first "])
    resumed = await SseExchange("/live/tasks/chat/chat-2/stream", session).start()
    assert resumed.status == 200
    assert (await SseExchange("/live/tasks/chat/chat-2/stream", bob_session).start()).status == 204
    await arecord(str(run.pk), None, ["second"])
    await afinish(str(run.pk), "succeeded")
    parts = ui_parts(await resumed.body())
    assert ui_parts(await started.body()) == parts
    assert [part.get("delta") for part in parts if isinstance(part, dict)][2:4] == [
        "first ",
        "second",
    ]


async def test_the_chat_endpoint_refuses_what_it_cannot_use(make_user, settings):
    settings.NOTIFICATIONS = {}
    _, session = await make_user("alice")
    assert (await chat_request(session, {"id": "x", "messages": []}).start()).status == 404
    settings.NOTIFICATIONS = {"CHAT_TASK": "tests.tasks.jobs.chat_reply"}
    for body in ({"messages": []}, {"id": "x", "messages": "no"}, [1]):
        refused = await chat_request(session, body).start()
        assert refused.status == 400
    assert (await chat_request(None, {"id": "x", "messages": []}).start()).status in (401, 403)
