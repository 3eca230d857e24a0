import asyncio

import httpx
import pytest

from notifications.limits import TokenBucket
from tests.clients import WebSocketClient


def test_a_bucket_allows_its_burst_then_its_rate(monkeypatch):
    now = [100.0]
    monkeypatch.setattr("notifications.limits.time.monotonic", lambda: now[0])
    bucket = TokenBucket(rate=2, burst=3)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    assert bucket.retry_after() == pytest.approx(0.5)
    now[0] += 0.5
    assert bucket.take() and not bucket.take()
    now[0] += 60
    assert sum(bucket.take() for _ in range(10)) == 3


pytestmark = pytest.mark.django_db(transaction=True)


async def reconnect_until_welcome(server, session, timeout=10):
    """The server counts a closed connection out once it has seen the close."""
    async with asyncio.timeout(timeout):
        while True:
            client = await WebSocketClient.connect(server.ws, session=session)
            if await client.closed_or_welcomed():
                return client


@pytest.mark.live
async def test_a_user_over_the_connection_cap_is_refused_and_others_are_not(
    daphne, make_user, redis_layer
):
    _, alice = await make_user("alice")
    _, bob = await make_user("bob")
    server = daphne(NOTIFICATIONS_MAX_CONNECTIONS_PER_USER="2")
    tabs = [await WebSocketClient.connect(server.ws, session=alice) for _ in range(2)]
    for tab in tabs:
        await tab.next("welcome")
    third = await WebSocketClient.connect(server.ws, session=alice)
    async with asyncio.timeout(5):
        assert await third.closed == 4430
    assert [frame["type"] for frame in third.pending()] == []
    async with httpx.AsyncClient(cookies={"sessionid": alice}) as http:
        refused = await http.get(f"{server.http}/live/events/broadcast/")
    assert (refused.status_code, refused.json()["error"]) == (429, "too_many_connections")
    other = await WebSocketClient.connect(server.ws, session=bob)
    assert (await other.next("welcome"))["type"] == "welcome"
    await tabs.pop().close()
    again = await reconnect_until_welcome(server, alice)
    await asyncio.gather(again.close(), other.close(), *(tab.close() for tab in tabs))


@pytest.mark.live
async def test_a_flooding_client_is_rate_limited_then_closed_and_others_stay_served(
    daphne, make_user, redis_layer
):
    _, alice = await make_user("alice")
    _, bob = await make_user("bob")
    server = daphne(NOTIFICATIONS_FRAME_RATE="5", NOTIFICATIONS_FRAME_BURST="5")
    flood = await WebSocketClient.connect(server.ws, session=alice)
    calm = await WebSocketClient.connect(server.ws, "/ws/live/?stream=broadcast", session=bob)
    await calm.next("subscribed")
    for n in range(8):
        await flood.send({"type": "ping", "id": n})
    answers = [await flood.next("pong", "error") for _ in range(8)]
    assert [answer["type"] for answer in answers[:5]] == ["pong"] * 5
    assert {answer.get("code") for answer in answers[5:]} == {"rate_limited"}
    assert answers[5]["retry_after"] > 0
    for n in range(20):
        await flood.send({"type": "ping", "id": n})
    async with asyncio.timeout(5):
        assert await flood.closed == 4431
    await calm.send({"type": "ping", "id": "still here"})
    assert (await calm.next("pong"))["id"] == "still here"
    await calm.close()


@pytest.mark.live
async def test_deeply_nested_json_is_an_invalid_json_error_and_the_socket_stays_open(
    daphne, make_user
):
    _, session = await make_user("alice")
    server = daphne()
    client = await WebSocketClient.connect(server.ws, session=session)
    await client.next("welcome")
    nested = "[" * 20000 + "]" * 20000
    await client.connection.send('{"type": "ping", "id": 1, "deep": ' + nested + "}")
    assert await client.next("error", "pong") == {
        "type": "error",
        "code": "invalid_json",
        "message": "The frame is not valid JSON.",
    }
    await client.send({"type": "ping", "id": 2})
    assert (await client.next("pong"))["id"] == 2
    await client.close()
    assert "Traceback" not in server.log()
