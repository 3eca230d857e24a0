import asyncio
import json

import pytest
from django.contrib.sessions.models import Session

from notifications import hub
from notifications.api import apublish
from notifications.consumers import LiveConsumer
from notifications.models import Room
from tests.clients import open_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def test_anonymous_connection_is_refused_before_accept():
    connected, _, _ = await open_socket(path="/ws/live/?stream=broadcast")
    assert not connected


async def test_foreign_origin_is_refused(make_user):
    _, session = await make_user("alice")
    connected, _, _ = await open_socket(session=session, origin="http://evil.example")
    assert not connected


async def test_url_stream_the_user_may_not_read_refuses_the_handshake(make_user):
    _, session = await make_user("alice")
    bob, _ = await make_user("bob")
    connected, _, _ = await open_socket(f"/ws/live/?stream=user:{bob.pk}", session=session)
    assert not connected


async def test_welcome_then_replay_from_url_cursor_then_live(make_user):
    alice, session = await make_user("alice")
    stream = f"user:{alice.pk}"
    for n in range(3):
        await apublish(stream, "note", {"n": n})
    connected, _, socket = await open_socket(f"/ws/live/?stream={stream}&since=1", session=session)
    assert connected
    welcome = await socket.frame()
    assert welcome["type"] == "welcome" and welcome["protocol"] == 1
    replayed = [await socket.next("event") for _ in range(2)]
    assert (await socket.next("subscribed"))["seq"] == 3
    await apublish(stream, "note", {"n": 3})
    live = await socket.next("event")
    assert [e["seq"] for e in [*replayed, live]] == [2, 3, 4]
    assert live["data"] == {"n": 3} and live["stream"] == stream
    await socket.communicator.disconnect()


async def test_bad_frames_get_error_frames_and_the_connection_keeps_working(make_user):
    _, session = await make_user("alice")
    connected, _, socket = await open_socket(session=session)
    assert connected
    communicator = socket.communicator
    await communicator.send_to(text_data="{not json")
    assert (await socket.next("error"))["code"] == "invalid_json"
    await communicator.send_to(text_data="[1, 2]")
    assert (await socket.next("error"))["code"] == "invalid_frame"
    await communicator.send_to(text_data=json.dumps({"type": "x" * 5, "pad": "y" * 70000}))
    assert (await socket.next("error"))["code"] == "frame_too_large"
    await communicator.send_to(bytes_data=b"\x00\x01")
    assert (await socket.next("error"))["code"] == "binary_unsupported"
    await socket.send({"type": "json"})
    assert (await socket.next("error"))["code"] == "unknown_type"
    await socket.send({"type": "_private"})
    assert (await socket.next("error"))["code"] == "invalid_frame"
    await socket.send({"type": "subscribe", "stream": "not a stream"})
    error = await socket.next("error")
    assert error["code"] == "invalid_stream" and error["stream"] == "not a stream"
    await socket.send({"type": "ping", "id": 7})
    assert (await socket.next("pong"))["id"] == 7
    await socket.send({"type": "subscribe", "stream": "broadcast", "since": "garbage"})
    assert (await socket.next("resync"))["reason"] == "invalid"
    await apublish("broadcast", "announcement", {"text": "still alive"})
    assert (await socket.next("event"))["data"] == {"text": "still alive"}
    await socket.communicator.disconnect()


async def test_a_user_never_reads_another_users_or_a_private_rooms_stream(make_user):
    alice, alice_session = await make_user("alice")
    _, bob_session = await make_user("bob")
    room = await Room.objects.acreate(slug="secret", name="Secret", is_private=True)
    await room.members.aadd(alice)
    _, _, alice_socket = await open_socket(session=alice_session)
    _, _, bob_socket = await open_socket(session=bob_session)
    for stream in (f"user:{alice.pk}", "room:secret"):
        await alice_socket.send({"type": "subscribe", "stream": stream, "since": 0})
        assert (await alice_socket.next("subscribed", "error"))["type"] == "subscribed"
        await bob_socket.send({"type": "subscribe", "stream": stream, "since": 0})
        refusal = await bob_socket.next("subscribed", "error")
        assert refusal == {
            "type": "error",
            "code": "forbidden",
            "message": "You may not read this stream.",
            "stream": stream,
        }
        await apublish(stream, "secret", {"for": "alice"})
        assert (await alice_socket.next("event"))["stream"] == stream
    await bob_socket.send({"type": "ping", "id": 1})
    frames = []
    while (frame := await bob_socket.frame())["type"] != "pong":
        frames.append(frame)
    assert all(frame["type"] != "event" for frame in frames)
    await alice_socket.communicator.disconnect()
    await bob_socket.communicator.disconnect()


async def test_unanswered_heartbeat_closes_with_4408(make_user, settings):
    settings.NOTIFICATIONS = {"HEARTBEAT_INTERVAL": 0.2, "HEARTBEAT_TIMEOUT": 0.3}
    _, session = await make_user("alice")
    _, _, socket = await open_socket(session=session, answer_pings=False)
    assert (await socket.next("ping"))["id"] == 1
    assert await socket.closed_with() == 4408


async def test_answered_heartbeats_keep_the_connection(make_user, settings):
    settings.NOTIFICATIONS = {"HEARTBEAT_INTERVAL": 0.1, "HEARTBEAT_TIMEOUT": 0.2}
    _, session = await make_user("alice")
    _, _, socket = await open_socket(session=session)
    pings = [await socket.next("ping") for _ in range(5)]
    assert [ping["id"] for ping in pings] == [1, 2, 3, 4, 5]
    await socket.send({"type": "subscribe", "stream": "broadcast"})
    await socket.next("subscribed")
    await socket.communicator.disconnect()


async def test_connections_opened_together_get_their_first_pings_spread_over_the_interval(
    make_user, settings
):
    settings.NOTIFICATIONS = {"HEARTBEAT_INTERVAL": 1.0, "HEARTBEAT_TIMEOUT": 1.0}
    _, session = await make_user("alice")
    clock = asyncio.get_running_loop().time
    sockets = []
    for _ in range(12):
        sockets.append(((await open_socket(session=session))[2], clock()))

    async def first_ping(socket, opened):
        await socket.next("ping", timeout=2.0)
        return clock() - opened

    after = await asyncio.gather(*(first_ping(socket, opened) for socket, opened in sockets))
    assert min(after) >= 0.4 and max(after) <= 1.2, after
    assert max(after) - min(after) >= 0.2, after
    for socket, _ in sockets:
        await socket.communicator.disconnect()


async def test_sessions_are_revalidated_a_few_at_a_time_and_invalid_ones_closed(
    make_user, settings, monkeypatch
):
    settings.NOTIFICATIONS = {"SESSION_REVALIDATE_INTERVAL": 0.5}
    monkeypatch.setattr(hub, "REVALIDATE_AT_ONCE", 4)
    checked = []
    all_checked = asyncio.Event()
    real = hub.ainvalid_credentials

    async def recording(credentials):
        checked.append(len(credentials))
        if sum(checked) >= 10:
            all_checked.set()
        return await real(credentials)

    monkeypatch.setattr(hub, "ainvalid_credentials", recording)
    users = [await make_user(f"user{n}") for n in range(10)]
    sockets = [(await open_socket(session=session))[2] for _, session in users]
    await Session.objects.filter(session_key=users[3][1]).adelete()
    assert await sockets[3].closed_with(timeout=5.0) == 1008
    await asyncio.wait_for(all_checked.wait(), 5.0)
    assert max(checked) <= 4, checked
    for n, socket in enumerate(sockets):
        if n != 3:
            await socket.send({"type": "ping", "id": 1})
            assert (await socket.next("pong"))["id"] == 1
            await socket.communicator.disconnect()


async def test_reader_that_stops_reading_is_closed_with_4429(make_user, settings):
    settings.NOTIFICATIONS = {"MAX_UNACKED_BYTES": 2000, "MAX_BUFFERED_EVENTS": 20}
    _, session = await make_user("alice")
    _, _, socket = await open_socket(
        "/ws/live/?stream=broadcast", session=session, answer_pings=False
    )
    await socket.next("subscribed")
    for n in range(200):
        await apublish("broadcast", "bulk", {"n": n, "pad": "x" * 100})
    assert await socket.closed_with() == 4429


async def test_flow_control_delivers_everything_to_a_reader_that_keeps_up(make_user, settings):
    settings.NOTIFICATIONS = {"MAX_UNACKED_BYTES": 2000, "MAX_BUFFERED_EVENTS": 1000}
    _, session = await make_user("alice")
    _, _, socket = await open_socket("/ws/live/?stream=broadcast", session=session)
    await socket.next("subscribed")

    async def publish_all():
        for n in range(300):
            await apublish("broadcast", "bulk", {"n": n, "pad": "x" * 100})

    publishing = asyncio.create_task(publish_all())
    events = [await socket.next("event", timeout=10) for _ in range(300)]
    await publishing
    assert [event["seq"] for event in events] == list(range(1, 301))
    await socket.communicator.disconnect()


async def test_too_many_subscriptions_is_an_error(make_user, settings):
    settings.NOTIFICATIONS = {"MAX_SUBSCRIPTIONS": 2}
    _, session = await make_user("alice")
    await Room.objects.acreate(slug="a", name="A")
    await Room.objects.acreate(slug="b", name="B")
    _, _, socket = await open_socket(session=session)
    for stream in ["room:a", "room:b", "broadcast"]:
        await socket.send({"type": "subscribe", "stream": stream})
    results = [await socket.next("subscribed", "error") for _ in range(3)]
    outcome = {r["stream"]: r.get("code", r["type"]) for r in results}
    assert outcome == {
        "room:a": "subscribed",
        "room:b": "subscribed",
        "broadcast": "too_many_subscriptions",
    }
    await socket.send({"type": "unsubscribe", "stream": "room:a"})
    await socket.next("unsubscribed")
    await socket.send({"type": "subscribe", "stream": "broadcast"})
    assert (await socket.next("subscribed", "error"))["type"] == "subscribed"
    await socket.communicator.disconnect()


class EchoConsumer(LiveConsumer):
    async def handle_echo(self, content):
        if content.get("fail"):
            await self.send_error("rejected", "Told to fail.")
            return
        if content.get("crash"):
            raise RuntimeError("boom")
        await apublish("broadcast", "echo", {"text": content.get("text")})


async def test_app_frames_with_a_client_id_are_acknowledged_or_refused(make_user):
    _, session = await make_user("alice")
    connected, _, socket = await open_socket("/ws/echo/", session, consumer=EchoConsumer)
    assert connected
    await socket.send({"type": "echo", "text": "hi", "client_id": "c-1"})
    assert await socket.next("ack", "error") == {"type": "ack", "client_id": "c-1"}
    await socket.send({"type": "echo", "fail": True, "client_id": "c-2"})
    refusal = await socket.next("ack", "error")
    assert (refusal["code"], refusal["client_id"]) == ("rejected", "c-2")
    await socket.send({"type": "echo", "crash": True, "client_id": "c-3"})
    crash = await socket.next("ack", "error")
    assert (crash["code"], crash["client_id"]) == ("internal_error", "c-3")
    await socket.send({"type": "echo", "client_id": 7})
    assert (await socket.next("ack", "error"))["code"] == "invalid_frame"
    await socket.send({"type": "echo", "text": "no id"})
    await socket.send({"type": "ping", "id": 1})
    assert (await socket.next("ack", "pong"))["type"] == "pong"
    await socket.communicator.disconnect()


class SlowConsumer(LiveConsumer):
    release: asyncio.Event

    async def handle_slow(self, content):
        await SlowConsumer.release.wait()


async def test_a_failing_subscribe_never_takes_another_frames_client_id(make_user, monkeypatch):
    """The subscription task that fails while another frame is being handled reports its own
    error (without a client_id), and that frame is still acknowledged."""
    _, session = await make_user("alice")
    SlowConsumer.release = asyncio.Event()

    async def unavailable(*args, **kwargs):
        await asyncio.sleep(0.05)
        try:
            raise OSError("database is down")
        finally:
            SlowConsumer.release.set()

    monkeypatch.setattr("notifications.hub.Hub.read_history", unavailable)
    connected, _, socket = await open_socket("/ws/slow/", session, consumer=SlowConsumer)
    assert connected
    await socket.send({"type": "subscribe", "stream": "broadcast"})
    await socket.send({"type": "slow", "client_id": "mine"})
    answers = [await socket.next("ack", "error") for _ in range(2)]
    assert sorted(answers, key=lambda a: a["type"]) == [
        {"type": "ack", "client_id": "mine"},
        {
            "type": "error",
            "code": "unavailable",
            "message": "The stream is unavailable; retry later.",
            "stream": "broadcast",
        },
    ]
    await socket.communicator.disconnect()


async def test_frame_types_a_stream_kind_registers_reach_its_handler(make_user):
    from notifications import kinds
    from notifications.connection import FrameRefused

    seen = []

    async def handle_vote(connection, frame):
        if frame.get("choice") not in ("yes", "no"):
            raise FrameRefused("invalid_choice", "Vote yes or no.", choice=frame.get("choice"))
        seen.append((connection.user.get_username(), frame["choice"]))

    kinds.register(kinds.StreamKind("poll", frame_handlers={"poll.vote": handle_vote}))
    try:
        _, session = await make_user("alice")
        _, _, socket = await open_socket(session=session)
        await socket.send({"type": "poll.vote", "choice": "yes", "client_id": "v1"})
        assert await socket.next("ack", "error") == {"type": "ack", "client_id": "v1"}
        await socket.send({"type": "poll.vote", "choice": "maybe", "client_id": "v2"})
        refusal = await socket.next("ack", "error")
        assert (refusal["code"], refusal["client_id"], refusal["choice"]) == (
            "invalid_choice",
            "v2",
            "maybe",
        )
        assert seen == [("alice", "yes")]
        await socket.communicator.disconnect()
    finally:
        kinds.unregister("poll")
