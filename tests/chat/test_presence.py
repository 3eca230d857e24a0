import asyncio
import time

import pytest
from asgiref.sync import sync_to_async

from notifications.chat import presence
from notifications.chat.presence_store import (
    ENTER,
    EXPIRE,
    EXPIRY_KEY,
    JOINED,
    LEFT,
    MEMORY,
    Op,
    RedisStore,
)
from notifications.models import Room
from tests.clients import WebSocketClient, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

LOBBY = "room:lobby"


@pytest.fixture(params=["memory", "redis"])
def backend(request, settings):
    """Presence in this process's memory, or in the private Redis (with the Redis layer)."""
    MEMORY.clear()
    request.getfixturevalue("redis_layer" if request.param == "redis" else "memory_layer")
    settings.NOTIFICATIONS = {"PRESENCE_GRACE": 1.0, "PRESENCE_SWEEP_INTERVAL": 0.2}
    yield request.param
    MEMORY.clear()


@pytest.fixture
async def lobby():
    return await Room.objects.acreate(slug="lobby", name="Lobby")


async def tab(session, room="lobby"):
    connected, _, socket = await open_socket(session=session, presence=True)
    assert connected
    await socket.send({"type": "chat.join", "room": room})
    assert (await socket.next("subscribed"))["stream"] == f"room:{room}"
    return socket


async def change(socket, timeout=5.0):
    """The next presence event: ("presence.join" or "presence.leave", user name)."""
    while True:
        event = await socket.next("event", timeout=timeout)
        if event["event"].startswith("presence."):
            return event["event"], event["data"]["user"]["name"]


async def until(condition, timeout=10.0):
    async with asyncio.timeout(timeout):
        while True:
            if await sync_to_async(condition)():
                return
            await asyncio.sleep(0.05)


async def test_tabs_of_one_user_give_one_join_and_one_leave(backend, lobby, make_user):
    watcher_user, watcher_session = await make_user("watcher")
    _, alice_session = await make_user("alice")
    _, bob_session = await make_user("bob")
    watcher = await tab(watcher_session)
    assert await change(watcher) == ("presence.join", "watcher")
    alice_tabs = [await tab(alice_session), await tab(alice_session)]
    bob = await tab(bob_session)
    assert await change(watcher) == ("presence.join", "alice")
    assert await change(watcher) == ("presence.join", "bob")
    assert await presence.acounts(LOBBY) == {"users": 3, "connections": 4}
    for socket in alice_tabs:
        await socket.communicator.disconnect()
    assert await change(watcher) == ("presence.leave", "alice")
    await bob.communicator.disconnect()
    assert await change(watcher) == ("presence.leave", "bob")
    assert await presence.acounts(LOBBY) == {"users": 1, "connections": 1}
    assert await presence.asnapshot(LOBBY) == [
        {"id": watcher_user.pk, "name": "watcher", "connections": 1}
    ]


async def test_a_page_that_only_watches_a_room_is_not_in_it(backend, lobby, make_user):
    _, watcher_session = await make_user("watcher")
    alice_user, alice_session = await make_user("alice")
    connected, _, reader = await open_socket(session=watcher_session, presence=True)
    assert connected
    await reader.send({"type": "subscribe", "stream": LOBBY})
    await reader.next("subscribed")
    await tab(alice_session)
    assert await change(reader) == ("presence.join", "alice")
    assert await presence.asnapshot(LOBBY) == [
        {"id": alice_user.pk, "name": "alice", "connections": 1}
    ]


async def test_a_reload_within_the_grace_does_not_flap(backend, lobby, make_user):
    _, watcher_session = await make_user("watcher")
    _, alice_session = await make_user("alice")
    _, bob_session = await make_user("bob")
    watcher = await tab(watcher_session)
    old = await tab(alice_session)
    bob = await tab(bob_session)
    assert [await change(watcher) for _ in range(3)] == [
        ("presence.join", "watcher"),
        ("presence.join", "alice"),
        ("presence.join", "bob"),
    ]
    await old.communicator.disconnect()
    new = await tab(alice_session)
    await until(lambda: presence.counts(LOBBY)["connections"] == 3)
    await bob.communicator.disconnect()
    assert await change(watcher) == ("presence.leave", "bob")
    await new.communicator.disconnect()


async def test_joining_a_room_tells_who_is_there(backend, lobby, make_user):
    alice, alice_session = await make_user("alice")
    bob_user, bob_session = await make_user("bob")
    alice_tabs = [await tab(alice_session), await tab(alice_session)]
    await until(lambda: presence.counts(LOBBY) == {"users": 1, "connections": 2})
    connected, _, bob = await open_socket(session=bob_session, presence=True)
    assert connected
    await bob.send({"type": "chat.join", "room": "lobby"})
    history = await bob.next("chat.history")
    assert history["presence"] == [{"id": alice.pk, "name": "alice", "connections": 2}]
    await bob.next("subscribed")
    assert await change(bob) == ("presence.join", "bob")
    assert await sync_to_async(presence.snapshot)(LOBBY) == [
        {"id": alice.pk, "name": "alice", "connections": 2},
        {"id": bob_user.pk, "name": "bob", "connections": 1},
    ]
    assert len(alice_tabs) == 2


async def test_entries_lost_from_redis_come_back_at_the_next_renewal(
    redis_layer, settings, lobby, make_user
):
    settings.NOTIFICATIONS = {"PRESENCE_REFRESH": 0.2}
    _, session = await make_user("watcher")
    watcher = await tab(session)
    assert await change(watcher) == ("presence.join", "watcher")
    keys = [f"presence:{LOBBY}", f"presence:{LOBBY}|users", f"presence:{LOBBY}|who"]
    redis_layer.cli("DEL", *keys, EXPIRY_KEY)
    assert await change(watcher) == ("presence.join", "watcher")
    assert await presence.acounts(LOBBY) == {"users": 1, "connections": 1}


async def test_processes_sweeping_at_once_report_each_leave_once(redis_layer):
    stores = [RedisStore(redis_layer.url, {}) for _ in range(3)]
    now = time.time()
    alice, bob = '{"id":1,"name":"alice"}', '{"id":2,"name":"bob"}'
    entered = await stores[0].apply(
        [
            Op(ENTER, LOBBY, "a:1", "1", alice),
            Op(ENTER, LOBBY, "b:1", "1", alice),
            Op(ENTER, LOBBY, "b:2", "2", bob),
            Op(ENTER, LOBBY, "b:2", "2", bob),
        ],
        now - 1,
        now,
    )
    assert [(c.kind, c.who) for c in entered] == [(JOINED, alice), (JOINED, bob)]
    await stores[1].apply([Op(ENTER, LOBBY, "a:1", "1", alice)], now + 60, now)

    async def sweep(store):
        expired = await store.expired(time.time(), 100)
        return await store.apply([Op(EXPIRE, s, c) for s, c in expired], 0, time.time())

    swept = [c for changes in await asyncio.gather(*map(sweep, stores)) for c in changes]
    assert [(c.kind, c.who) for c in swept] == [(LEFT, bob)]
    assert await stores[0].counts(LOBBY) == (1, 1)
    assert redis_layer.cli("ZRANGE", EXPIRY_KEY, "0", "-1") == [f"{LOBBY}|a:1"]
    for store in stores:
        await store.aclose()


@pytest.mark.live
async def test_the_users_of_a_killed_process_leave_once_and_only_they(
    daphne, make_user, redis_layer
):
    """The acceptance test: two processes, three tabs of two users; SIGKILL one process."""
    await Room.objects.acreate(slug="lobby", name="Lobby")
    users = {name: await make_user(name) for name in ("watcher", "alice", "bob")}
    ttl, sweep = 3.0, 0.5
    env = {
        "NOTIFICATIONS_PRESENCE_TTL": str(ttl),
        "NOTIFICATIONS_PRESENCE_REFRESH": "1",
        "NOTIFICATIONS_PRESENCE_SWEEP_INTERVAL": str(sweep),
        "NOTIFICATIONS_PRESENCE_GRACE": "0.5",
    }
    survivor, doomed = daphne("survivor", **env), daphne("doomed", **env)

    async def open_tab(server, name):
        client = await WebSocketClient.connect(server.ws, session=users[name][1])
        await client.send({"type": "chat.join", "room": "lobby"})
        await client.next("subscribed")
        return client

    watcher = await open_tab(survivor, "watcher")
    seen = []
    arrived = asyncio.Event()

    async def watch():
        while True:
            event = await watcher.next("event", timeout=None)
            if event["event"].startswith("presence."):
                seen.append((event["event"], event["data"]["user"]["name"], time.monotonic()))
                arrived.set()

    watching = asyncio.create_task(watch())

    async def seen_for(kind, name, count=1, timeout=10.0):
        async with asyncio.timeout(timeout):
            while len([s for s in seen if s[:2] == (kind, name)]) < count:
                arrived.clear()
                await arrived.wait()

    tabs = [
        await open_tab(survivor, "alice"),
        await open_tab(doomed, "alice"),
        await open_tab(doomed, "bob"),
    ]
    await seen_for("presence.join", "alice")
    await seen_for("presence.join", "bob")
    await until(lambda: redis_layer.cli("HLEN", f"presence:{LOBBY}") == 4)
    assert await sync_to_async(presence.counts)(LOBBY) == {"users": 3, "connections": 4}

    pid = doomed.process.pid
    doomed.kill()
    killed = time.monotonic()
    await seen_for("presence.leave", "bob", timeout=ttl + 10)
    [left] = [s for s in seen if s[:2] == ("presence.leave", "bob")]
    left_after = left[2] - killed
    print(f"bob left {left_after:.2f} s after the SIGKILL (TTL {ttl} s, sweep {sweep} s)")
    assert left_after <= ttl + sweep + 1.5

    def doomed_entries():
        members = redis_layer.cli("ZRANGE", EXPIRY_KEY, "0", "-1")
        return [m for m in members if f":{pid}:" in m]

    await until(lambda: not doomed_entries(), timeout=ttl + 5)
    assert await sync_to_async(presence.counts)(LOBBY) == {"users": 2, "connections": 2}
    closed = time.monotonic()
    await tabs[0].close()
    await seen_for("presence.leave", "alice")
    joins = {name: [s for s in seen if s[:2] == ("presence.join", name)] for name in users}
    leaves = {name: [s for s in seen if s[:2] == ("presence.leave", name)] for name in users}
    assert (len(joins["alice"]), len(joins["bob"])) == (1, 1)
    assert (len(leaves["alice"]), len(leaves["bob"])) == (1, 1)
    assert leaves["alice"][0][2] > closed
    watching.cancel()
    await watcher.close()


@pytest.mark.live
async def test_a_process_stopped_gracefully_removes_its_entries_at_once(
    daphne, make_user, redis_layer
):
    await Room.objects.acreate(slug="lobby", name="Lobby")
    _, watcher_session = await make_user("watcher")
    _, bob_session = await make_user("bob")
    one, two = daphne("one"), daphne("two")
    watcher = await WebSocketClient.connect(
        one.ws, f"/ws/live/?stream={LOBBY}", session=watcher_session
    )
    await watcher.next("subscribed")
    bob = await WebSocketClient.connect(two.ws, session=bob_session)
    await bob.send({"type": "chat.join", "room": "lobby"})
    await bob.next("subscribed")
    names = []
    while names[-1:] != [("presence.join", "bob")]:
        event = await watcher.next("event")
        names.append((event["event"], event["data"]["user"]["name"]))
    stopping = time.monotonic()
    await asyncio.to_thread(two.stop)
    event = await watcher.next("event", timeout=10)
    assert (event["event"], event["data"]["user"]["name"]) == ("presence.leave", "bob")
    assert time.monotonic() - stopping < 10
    assert redis_layer.cli("HLEN", f"presence:{LOBBY}") == 0
    await watcher.close()
