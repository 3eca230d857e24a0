"""End to end over real sockets: daphne processes of the demo site, a private redis-server."""

import asyncio
import json
import time

import httpx
import pytest
import websockets

from notifications.api import apublish, apublish_many
from notifications.models import Room
from tests.clients import SseClient, WebSocketClient, logged_in_users, publish_via

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def seqs(frames):
    return [frame["seq"] for frame in frames]


@pytest.mark.parametrize("layer", ["core", "pubsub", "sharded"])
async def test_two_daphne_processes_deliver_each_others_events(daphne, make_user, layer):
    _, staff = await make_user("staff", is_staff=True)
    _, alice = await make_user("alice")
    one, two = daphne("one", REDIS_LAYER=layer), daphne("two", REDIS_LAYER=layer)
    clients = [
        await WebSocketClient.connect(server.ws, "/ws/live/?stream=broadcast", session=alice)
        for server in (one, two)
    ]
    for client in clients:
        await client.next("subscribed")
    await publish_via(one, staff, "broadcast", "from.one")
    await publish_via(two, staff, "broadcast", "from.two")
    for client in clients:
        events = await client.events(2)
        assert [(e["seq"], e["event"]) for e in events] == [(1, "from.one"), (2, "from.two")]
        await client.close()


@pytest.mark.parametrize("layer", ["core", "pubsub", "sharded"])
async def test_a_batch_reaches_the_readers_of_each_stream_across_two_processes_exactly_once(
    daphne, redis_layer, layer
):
    """60 users' streams read over WebSocket and SSE, half on each of two daphne processes;
    two batches to all of them (and to 40 streams nobody reads) from this process."""
    users = await logged_in_users(60)
    servers = [daphne("one", REDIS_LAYER=layer), daphne("two", REDIS_LAYER=layer)]
    sockets = await asyncio.gather(
        *(
            WebSocketClient.connect(
                servers[index % 2].ws, f"/ws/live/?stream=user:{user.pk}", session=session
            )
            for index, (user, session) in enumerate(users[:40])
        )
    )
    await asyncio.gather(*(client.next("subscribed") for client in sockets))
    streams = await asyncio.gather(
        *(
            SseClient.open(
                f"{servers[index % 2].http}/live/events/user:{user.pk}/?since=0", session=s
            )
            for index, (user, s) in enumerate(users[40:])
        )
    )
    unread = [f"user:{pk}" for pk in range(100_000, 100_040)]
    for n in range(2):
        batch = [(f"user:{user.pk}", "notification.created", {"n": n}) for user, _ in users]
        await apublish_many(batch + [(stream, "unread") for stream in unread])
    for (user, _), client in zip(users[:40], sockets, strict=True):
        events = await client.events(2)
        assert [(e["stream"], e["seq"], e["data"]["n"]) for e in events] == [
            (f"user:{user.pk}", 1, 0),
            (f"user:{user.pk}", 2, 1),
        ]
    for stream in streams:
        messages = [await stream.next() for _ in range(2)]
        assert [(m.id, m.json["data"]["n"]) for m in messages] == [("1", 0), ("2", 1)]
    await asyncio.sleep(0.3)
    assert not [f for c in sockets for f in c.pending() if f["type"] in ("event", "resync")]
    if layer == "sharded":
        assert redis_layer.shard(0).groups() and redis_layer.shard(1).groups()
    await asyncio.gather(*(c.close() for c in sockets), *(s.close() for s in streams))


async def test_the_app_also_runs_under_uvicorn(daphne, make_user, redis_layer):
    _, session = await make_user("alice")
    server = daphne("uvicorn", server_kind="uvicorn")
    assert "Uvicorn running" in server.log()
    ws = await WebSocketClient.connect(
        server.ws, "/ws/live/?stream=broadcast&since=0", session=session
    )
    await ws.next("subscribed")
    sse = await SseClient.open(f"{server.http}/live/events/broadcast/?since=0", session=session)
    for n in range(3):
        await apublish("broadcast", "announcement", {"n": n})
    assert seqs(await ws.events(3)) == [1, 2, 3]
    assert [(await sse.next()).id for _ in range(3)] == ["1", "2", "3"]
    await ws.close()
    await sse.close()


@pytest.mark.parametrize("layer", ["core", "sharded"])
async def test_reconnect_with_cursor_gets_exactly_the_missed_events_across_a_redis_outage(
    daphne, make_user, redis_layer, layer
):
    alice, session = await make_user("alice")
    stream = f"user:{alice.pk}"
    server = daphne(REDIS_LAYER=layer)
    client = await WebSocketClient.connect(
        server.ws, f"/ws/live/?stream={stream}&since=0", session=session
    )
    await client.next("subscribed")
    for n in range(3):
        await apublish(stream, "note", {"n": n})
    seen = await client.events(3)
    await client.close()

    await apublish(stream, "note", {"n": 3})
    redis_layer.stop()
    await apublish(stream, "note", {"n": 4})
    await apublish(stream, "note", {"n": 5})
    redis_layer.start()
    await apublish(stream, "note", {"n": 6})

    cursor = seen[-1]["seq"]
    client = await WebSocketClient.connect(
        server.ws, f"/ws/live/?stream={stream}&since={cursor}", session=session
    )
    missed = await client.events(4)
    await client.next("subscribed")
    await apublish(stream, "note", {"n": 7})
    seen += missed + await client.events(1)
    await client.close()
    assert seqs(seen) == list(range(1, 9))
    assert [e["data"]["n"] for e in seen] == list(range(8))

    sse = await SseClient.open(
        f"{server.http}/live/events/{stream}/", session=session, last_event_id="5"
    )
    replayed = [await sse.next() for _ in range(3)]
    assert [m.id for m in replayed] == ["6", "7", "8"]
    assert [m.json["data"]["n"] for m in replayed] == [5, 6, 7]
    await sse.close()


@pytest.mark.parametrize("layer", ["core", "pubsub", "sharded"])
async def test_connected_clients_get_events_published_while_redis_was_down(
    daphne, make_user, redis_layer, layer
):
    _, session = await make_user("alice")
    server = daphne(REDIS_LAYER=layer, NOTIFICATIONS_RESYNC_INTERVAL="2")
    ws = await WebSocketClient.connect(server.ws, "/ws/live/?stream=broadcast", session=session)
    await ws.next("subscribed")
    sse = await SseClient.open(f"{server.http}/live/events/broadcast/?since=0", session=session)
    await apublish("broadcast", "announcement", {"n": 0})
    ws_seen = await ws.events(1)
    sse_seen = [await sse.next()]

    redis_layer.stop()
    await apublish("broadcast", "announcement", {"n": 1})
    await apublish("broadcast", "announcement", {"n": 2})
    ws_seen += await ws.events(2, timeout=10)
    sse_seen += [await sse.next(timeout=10) for _ in range(2)]

    redis_layer.start()
    deadline = time.monotonic() + 15
    while True:
        assert time.monotonic() < deadline, server.log()
        sent = time.monotonic()
        await apublish("broadcast", "probe")
        ws_seen += await ws.events(1, timeout=5)
        sse_seen += [await sse.next(timeout=5)]
        if time.monotonic() - sent < 0.5:
            break
        await asyncio.sleep(0.5)

    head = ws_seen[-1]["seq"]
    assert seqs(ws_seen) == list(range(1, head + 1))
    assert [int(m.id) for m in sse_seen] == list(range(1, head + 1))
    with pytest.raises(TimeoutError):
        await ws.next("event", timeout=2.5)
    await ws.close()
    await sse.close()


async def test_a_client_that_stops_reading_is_closed_and_resumes_without_loss(
    daphne, make_user, redis_layer
):
    _, session = await make_user("alice")
    server = daphne(NOTIFICATIONS_MAX_UNACKED_BYTES="20000", NOTIFICATIONS_MAX_BUFFERED_EVENTS="50")
    stalled = await WebSocketClient.connect(
        server.ws, "/ws/live/?stream=broadcast&since=0", session=session, max_queue=1
    )
    stalled.reader.cancel()
    for n in range(400):
        await apublish("broadcast", "bulk", {"n": n, "pad": "x" * 2000})
    seen, code = [], None
    try:
        async with asyncio.timeout(30):
            async for text in stalled.connection:
                content = json.loads(text)
                seen += [
                    f
                    for f in (content if isinstance(content, list) else [content])
                    if f["type"] == "event"
                ]
    except websockets.ConnectionClosed:
        pass
    code = stalled.connection.close_code
    assert code == 4429, code
    assert 0 < len(seen) < 400
    assert seqs(seen) == list(range(1, len(seen) + 1))
    resumed = await WebSocketClient.connect(
        server.ws, f"/ws/live/?stream=broadcast&since={seen[-1]['seq']}", session=session
    )
    rest = await resumed.events(400 - len(seen), timeout=20)
    assert seqs(seen + rest) == list(range(1, 401))
    await resumed.close()


async def test_a_client_that_never_answers_pings_is_closed_with_4408(daphne, make_user):
    _, session = await make_user("alice")
    server = daphne(NOTIFICATIONS_HEARTBEAT_INTERVAL="0.5", NOTIFICATIONS_HEARTBEAT_TIMEOUT="0.5")
    silent = await WebSocketClient.connect(server.ws, "/ws/live/?stream=broadcast", session=session)
    silent.answer_pings = False
    polite = await WebSocketClient.connect(server.ws, "/ws/live/?stream=broadcast", session=session)
    async with asyncio.timeout(10):
        assert await silent.closed == 4408
    await asyncio.sleep(1.5)
    assert not polite.closed.done()
    await polite.close()


async def test_authorization_holds_over_real_connections(daphne, make_user):
    alice, alice_session = await make_user("alice")
    _, bob_session = await make_user("bob")
    room = await Room.objects.acreate(slug="secret", name="Secret", is_private=True)
    await room.members.aadd(alice)
    server = daphne()

    for path, session in [
        (f"/ws/live/?stream=user:{alice.pk}", bob_session),
        ("/ws/live/?stream=room:secret", bob_session),
        ("/ws/live/?stream=broadcast", None),
    ]:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await WebSocketClient.connect(server.ws, path, session=session)
        assert refused.value.response.status_code == 403

    for stream, session, status in [
        (f"user:{alice.pk}", bob_session, 403),
        ("room:secret", bob_session, 403),
        ("broadcast", None, 401),
        ("no spaces", bob_session, 404),
    ]:
        async with httpx.AsyncClient(cookies={"sessionid": session} if session else {}) as http:
            response = await http.get(f"{server.http}/live/events/{stream}/")
            assert response.status_code == status
            assert response.headers["content-type"] == "application/json"

    bob_ws = await WebSocketClient.connect(server.ws, session=bob_session)
    await bob_ws.send({"type": "subscribe", "stream": "room:secret", "since": 0})
    assert (await bob_ws.next("error"))["code"] == "forbidden"
    alice_sse = await SseClient.open(
        f"{server.http}/live/events/room:secret/?since=0", session=alice_session
    )
    assert alice_sse.response.status_code == 200
    await apublish("room:secret", "chat.message", {"text": "members only"})
    message = await alice_sse.next()
    while message.event.startswith("presence."):
        message = await alice_sse.next()
    assert message.json["data"] == {"text": "members only"}
    with pytest.raises(TimeoutError):
        await bob_ws.next("event", timeout=1)
    await bob_ws.close()
    await alice_sse.close()


@pytest.mark.stress
async def test_idle_connections_outlive_the_redis_socket_timeout(daphne, make_user, redis_layer):
    """redis-py's default 5 s socket timeout killed idle channels-redis receivers."""
    _, session = await make_user("alice")
    server = daphne()
    ws = await WebSocketClient.connect(server.ws, "/ws/live/?stream=broadcast", session=session)
    await ws.next("subscribed")
    sse = await SseClient.open(f"{server.http}/live/events/broadcast/?since=0", session=session)
    await asyncio.sleep(20)
    await apublish("broadcast", "announcement", {"after": "idle"})
    assert (await ws.next("event", timeout=1))["data"] == {"after": "idle"}
    assert (await sse.next(timeout=1)).json["data"] == {"after": "idle"}
    await ws.close()
    await sse.close()
    log = server.log()
    assert "TimeoutError" not in log and "channel layer failed" not in log, log


@pytest.mark.stress
async def test_mass_disconnect_leaves_no_stale_group_members(daphne, redis):
    """500 WebSocket and 200 SSE readers of their own streams leave at once (three in four SSE
    readers send `Accept: text/event-stream` as browsers do, the others do not)."""
    users = await logged_in_users(700)
    server = daphne()
    sockets = await asyncio.gather(
        *(
            WebSocketClient.connect(server.ws, f"/ws/live/?stream=user:{user.pk}", session=session)
            for user, session in users[:500]
        )
    )
    await asyncio.gather(*(client.next("subscribed", timeout=30) for client in sockets))
    streams = await asyncio.gather(
        *(
            SseClient.open(
                f"{server.http}/live/events/user:{user.pk}/",
                session=session,
                **({"Accept": "text/event-stream"} if index % 4 else {}),
            )
            for index, (user, session) in enumerate(users[500:])
        )
    )
    assert all(stream.response.status_code == 200 for stream in streams)
    deadline = time.monotonic() + 15
    while len(redis.groups()) < 700:
        assert time.monotonic() < deadline, "not every stream joined its group"
        await asyncio.sleep(0.2)
    await asyncio.gather(
        *(client.close() for client in sockets), *(stream.close() for stream in streams)
    )
    deadline = time.monotonic() + 15
    while redis.groups():
        assert time.monotonic() < deadline, "stale group members remain"
        await asyncio.sleep(0.2)
    log = server.log()
    assert "Traceback" not in log and "Could not leave" not in log, log
