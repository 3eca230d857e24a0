import asyncio
import gc
import weakref

import pytest

from notifications.api import apublish
from notifications.hub import get_hub
from notifications.testing import StreamListener
from tests.clients import WebSocketClient
from tests.servers import PartitionableProxy

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_hub_lets_go_of_its_event_loop_when_the_loop_ends(memory_layer):
    """Sync code that runs `asyncio.run()` (or async_to_sync) again and again must not keep
    every loop, its hub and its tasks alive."""
    hubs = []

    async def read_a_stream():
        hubs.append(weakref.ref(get_hub()))
        async with StreamListener("broadcast") as listener:
            await apublish("broadcast", "hello")
            assert (await listener.next())["event"] == "hello"
        assert get_hub().stats()["streams"] == 1

    for _ in range(3):
        asyncio.run(read_a_stream())
    gc.collect()
    assert [hub() for hub in hubs] == [None, None, None]


@pytest.mark.live
async def test_a_silently_partitioned_redis_is_noticed_and_live_delivery_resumes(
    daphne, make_user, redis_layer
):
    proxy = PartitionableProxy(redis_layer.port)
    await proxy.start()
    _, session = await make_user("alice")
    server = daphne(
        REDIS_URL=proxy.url,
        NOTIFICATIONS_RESYNC_INTERVAL="60",
        NOTIFICATIONS_LAYER_HEALTH_INTERVAL="1",
        NOTIFICATIONS_LAYER_SEND_TIMEOUT="1",
    )
    ws = await WebSocketClient.connect(server.ws, "/ws/live/?stream=broadcast", session=session)
    await ws.next("subscribed")
    await apublish("broadcast", "before")
    assert (await ws.next("event", timeout=2))["event"] == "before"

    proxy.partition()
    await asyncio.sleep(1)
    proxy.heal()
    await apublish("broadcast", "after")
    assert (await ws.next("event", timeout=15))["event"] == "after"
    assert "stopped delivering" in server.log() or "did not take a probe" in server.log()
    await apublish("broadcast", "live.again")
    assert (await ws.next("event", timeout=2))["event"] == "live.again"
    await ws.close()
    await proxy.stop()
