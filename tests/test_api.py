import asyncio
import logging

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from notifications.api import EphemeralEvent, InvalidEventData, apublish, publish
from notifications.models import Event
from notifications.testing import StreamListener

pytestmark = pytest.mark.django_db(transaction=True)


async def test_published_event_reaches_a_reader_with_its_seq():
    async with StreamListener("room:a") as listener:
        event = await sync_to_async(publish)("room:a", "chat.message", {"text": "hi"})
        message = await listener.next()
    assert event.seq == 1
    assert message["seq"] == 1 and message["event"] == "chat.message"
    assert message["data"] == {"text": "hi"} and message["stream"] == "room:a"


async def test_back_to_back_apublish_calls_arrive_in_order_sharing_layer_messages(monkeypatch):
    layer = get_channel_layer()
    messages = []
    original = layer.group_send

    async def slow_group_send(group, message):
        messages.append(message)
        await asyncio.sleep(0.02)
        await original(group, message)

    monkeypatch.setattr(layer, "group_send", slow_group_send)
    async with StreamListener("room:a") as listener:
        await apublish("room:a", "typing", persist=False)
        for n in range(30):
            await apublish("room:a", "tick", {"n": n})
        received = [await listener.next() for _ in range(31)]
    assert received[0]["event"] == "typing"
    assert [message["seq"] for message in received[1:]] == list(range(1, 31))
    assert [message["data"]["n"] for message in received[1:]] == list(range(30))
    assert len(messages) <= 10


async def test_rolled_back_transaction_publishes_nothing():
    def publish_then_fail():
        with transaction.atomic():
            publish("room:a", "doomed")
            raise RuntimeError("rollback")

    async with StreamListener("room:a") as listener:
        with pytest.raises(RuntimeError):
            await sync_to_async(publish_then_fail)()
        await sync_to_async(publish)("room:a", "kept")
        message = await listener.next()
        assert await listener.nothing_more()
    assert (message["event"], message["seq"]) == ("kept", 1)
    assert await Event.objects.filter(type="doomed").acount() == 0


async def test_event_is_sent_only_after_the_outer_transaction_commits():
    async with StreamListener("room:a") as listener:

        def publish_in_transaction():
            with transaction.atomic():
                publish("room:a", "later")
                assert listener.outbox.items == type(listener.outbox.items)()

        await sync_to_async(publish_in_transaction)()
        assert (await listener.next())["event"] == "later"


async def test_ephemeral_events_are_delivered_but_not_stored():
    async with StreamListener("room:a") as listener:
        await apublish("room:a", "typing", {"user": 1}, persist=False)
        await sync_to_async(publish)("room:a", "typing", {"user": 2}, persist=False)
        messages = await listener.take(2)
    assert [(m["seq"], m["data"]) for m in messages] == [(None, {"user": 1}), (None, {"user": 2})]
    assert await Event.objects.acount() == 0


async def test_an_ephemeral_publish_returns_an_ephemeral_event_not_an_unsaved_row():
    sent = await apublish("room:a", "typing", {"user": 1}, persist=False)
    also = await sync_to_async(publish)("room:a", "typing", persist=False)
    stored = await apublish("room:a", "chat.message")
    for ephemeral in (sent, also):
        assert isinstance(ephemeral, EphemeralEvent) and not isinstance(ephemeral, Event)
        assert (ephemeral.stream, ephemeral.type, ephemeral.seq) == ("room:a", "typing", None)
    assert sent.data == {"user": 1} and sent.created_at is not None
    assert isinstance(stored, Event) and stored.seq == 1


@pytest.mark.parametrize("data", [{"t": "a\u0000b"}, ["\ud800"], {"\udfff": 1}])
def test_data_no_database_can_store_is_refused_before_anything_is_stored(data):
    with pytest.raises(InvalidEventData):
        publish("room:a", "x", data)
    with pytest.raises(InvalidEventData):
        publish("room:a", "x", data, persist=False)


async def test_apublish_stores_and_delivers():
    async with StreamListener("user:5", since=0) as listener:
        first = await apublish("user:5", "a")
        second = await apublish("user:5", "b")
        messages = await listener.take(2)
    assert (first.seq, second.seq) == (1, 2)
    assert [m["event"] for m in messages] == ["a", "b"]


@pytest.mark.parametrize(
    ("stream", "type", "data", "error"),
    [
        ("bad key", "x", None, ValueError),
        ("room:a", "bad type!", None, ValueError),
        ("room:a", "x", {"not": object()}, TypeError),
    ],
)
def test_bad_input_raises_and_stores_nothing(stream, type, data, error):
    with pytest.raises(error):
        publish(stream, type, data)
    assert not Event.objects.exists()


async def test_layer_down_still_stores_logs_and_readers_recover(redis_layer, fast_resync, caplog):
    async with StreamListener("room:a", since=0) as listener:
        redis_layer.stop()
        with caplog.at_level(logging.WARNING, logger="notifications"):
            event = await apublish("room:a", "during.outage", {"n": 1})
            stored = await sync_to_async(publish)("room:a", "during.outage", {"n": 2})
            messages = await listener.take(2, timeout=10)
        redis_layer.start()
    assert (event.seq, stored.seq) == (1, 2)
    assert [m["seq"] for m in messages] == [1, 2]
    assert "Live send of room:a #1 failed" in caplog.text
