"""Delivery through real Redis with both channels-redis layers, from every kind of caller."""

import asyncio
import threading

import pytest
from django.db import connection

from notifications.api import apublish, publish
from notifications.testing import StreamListener

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("layer", ["core", "pubsub"])
async def test_events_from_async_code_threads_and_plain_threads_arrive_in_order(layer, redis_layer):
    def from_plain_thread():
        try:
            publish("room:a", "n", {"from": "thread"})
        finally:
            connection.close()

    async with StreamListener("room:a", since=0) as listener:
        await apublish("room:a", "n", {"from": "async"})
        thread = threading.Thread(target=from_plain_thread)
        thread.start()
        await asyncio.to_thread(thread.join)
        messages = await listener.take(2)
        await apublish("room:a", "n", {"from": "async again"}, persist=False)
        messages += await listener.take(1)
        assert await listener.nothing_more()
    assert [m["seq"] for m in messages] == [1, 2, None]
    assert [m["data"]["from"] for m in messages] == ["async", "thread", "async again"]
