import asyncio

import pytest
from asgiref.sync import sync_to_async

from notifications.api import apublish
from notifications.delivery import get_layer
from notifications.hub import get_hub
from notifications.log import live_event, store_event
from notifications.models import Stream
from notifications.streams import group_name
from notifications.subscriptions import INVALID_CURSOR, parse_cursor
from notifications.testing import StreamListener

pytestmark = pytest.mark.django_db(transaction=True)

store = sync_to_async(store_event)


async def publish_many(stream, count):
    return [await apublish(stream, "n", {"n": n}) for n in range(count)]


def seqs(messages):
    return [m["seq"] for m in messages]


@pytest.mark.parametrize(
    ("raw", "cursor"),
    [
        (None, None),
        ("", None),
        (0, 0),
        ("12", 12),
        (-1, INVALID_CURSOR),
        ("x", INVALID_CURSOR),
        (True, INVALID_CURSOR),
        (1.5, INVALID_CURSOR),
        ("1e3", INVALID_CURSOR),
        ("9" * 30, INVALID_CURSOR),
    ],
)
def test_parse_cursor(raw, cursor):
    assert parse_cursor(raw) == cursor


async def test_replay_after_cursor_then_live_without_duplicates():
    await publish_many("room:a", 5)
    async with StreamListener("room:a", since=2) as listener:
        await apublish("room:a", "n", {"n": 5})
        messages = await listener.take(4)
        assert await listener.nothing_more()
    assert seqs(messages) == [3, 4, 5, 6]


async def test_no_cursor_means_from_now():
    await publish_many("room:a", 3)
    async with StreamListener("room:a") as listener:
        await apublish("room:a", "n")
        assert seqs([await listener.next()]) == [4]


@pytest.mark.parametrize(
    ("since", "pruned", "reason"),
    [(99, 0, "ahead"), (1, 3, "pruned"), ("garbage", 0, "invalid"), (-4, 0, "invalid")],
)
async def test_bad_cursor_gets_one_resync_then_live(since, pruned, reason):
    await publish_many("room:a", 5)
    await Stream.objects.filter(key="room:a").aupdate(pruned_seq=pruned)
    async with StreamListener("room:a", since=since) as listener:
        resync = await listener.next()
        await apublish("room:a", "n")
        live = await listener.next()
        assert await listener.nothing_more()
    assert resync == {"type": "resync", "stream": "room:a", "seq": 5, "reason": reason}
    assert live["seq"] == 6


async def test_cursor_at_pruned_mark_replays_what_is_kept():
    await publish_many("room:a", 5)
    await Stream.objects.filter(key="room:a").aupdate(pruned_seq=3)
    async with StreamListener("room:a", since=3) as listener:
        assert seqs(await listener.take(2)) == [4, 5]


async def test_gap_seen_live_is_filled_from_the_database():
    await publish_many("room:a", 1)
    async with StreamListener("room:a", since=1) as listener:
        second = await store("room:a", "n", {"n": 2})
        third = await store("room:a", "n", {"n": 3})
        hub = get_hub()
        hub.dispatch(live_event(third))
        messages = await listener.take(2)
        hub.dispatch(live_event(second))
        hub.dispatch(live_event(third))
        assert await listener.nothing_more()
    assert seqs(messages) == [2, 3]


async def test_event_the_layer_lost_is_recovered_by_periodic_resync(fast_resync):
    async with StreamListener("room:a", since=0) as listener:
        await store("room:a", "lost", None)
        message = await listener.next(timeout=3)
    assert (message["seq"], message["event"]) == (1, "lost")


async def test_concurrent_publishers_reach_readers_in_order_exactly_once():
    async with StreamListener("room:a", since=0) as first, StreamListener("room:a") as second:
        await asyncio.gather(*(apublish("room:a", "n", {"n": n}) for n in range(50)))
        assert seqs(await first.take(50)) == list(range(1, 51))
        assert seqs(await second.take(50)) == list(range(1, 51))
        assert await first.nothing_more() and await second.nothing_more()


async def test_one_layer_membership_per_process_per_stream(memory_layer):
    async with StreamListener("room:a"), StreamListener("room:a"), StreamListener("room:b"):
        hub = get_hub()
        layer = get_layer()
        assert hub.stats() == {"streams": 2, "subscribers": 3, "connections": 0}
        assert list(layer.groups[group_name("room:a")]) == [hub.channel_name]


async def test_idle_stream_leaves_its_group_after_lingering(memory_layer, fast_resync):
    async with StreamListener("room:a"):
        pass
    hub = get_hub()
    layer = get_layer()
    assert hub.stats() == {"streams": 1, "subscribers": 0, "connections": 0}
    for _ in range(50):
        await asyncio.sleep(0.1)
        if not layer.groups.get(group_name("room:a")):
            break
    assert hub.stats()["streams"] == 0
    assert not layer.groups.get(group_name("room:a"))


async def test_long_replay_waits_for_a_slow_reader_instead_of_overflowing():
    await publish_many("room:a", 30)
    listener = StreamListener("room:a", since=0, limit=4)
    starting = asyncio.create_task(listener.__aenter__())
    messages = await listener.take(30)
    await starting
    await publish_many("room:a", 3)
    messages += await listener.take(3)
    await listener.__aexit__(None, None, None)
    assert not listener.outbox.overflowed
    assert seqs(messages) == list(range(1, 34))


async def test_events_arriving_during_replay_are_not_lost_when_held_overflows(settings):
    settings.NOTIFICATIONS = {"REPLAY_PAGE_SIZE": 5}
    await publish_many("room:a", 30)
    listener = StreamListener("room:a", since=0, limit=4)
    starting = asyncio.create_task(listener.__aenter__())
    await asyncio.sleep(0.05)
    await publish_many("room:a", 20)
    messages = await listener.take(50)
    await starting
    await listener.__aexit__(None, None, None)
    assert seqs(messages) == list(range(1, 51))


async def test_live_reader_that_stops_reading_is_overflowed():
    async with StreamListener("room:a", limit=5) as listener:
        await publish_many("room:a", 10)
        await asyncio.sleep(0.05)
        assert listener.outbox.overflowed


async def test_a_coalescing_ephemeral_event_replaces_its_queued_predecessor(memory_layer):
    from notifications import kinds

    kinds.register(
        kinds.StreamKind("game", can_read=kinds.authenticated, coalesce=frozenset({"score"}))
    )
    try:
        async with StreamListener("game:1") as listener:
            for n in range(5):
                await apublish("game:1", "score", {"n": n}, persist=False)
                await apublish("game:1", "chat", {"n": n}, persist=False)
            await asyncio.sleep(0.05)
            messages = await listener.take(6)
        assert [(m["event"], m["data"]["n"]) for m in messages] == [
            ("chat", 0),
            ("chat", 1),
            ("chat", 2),
            ("chat", 3),
            ("score", 4),
            ("chat", 4),
        ]
    finally:
        kinds.unregister("game")


async def test_a_batch_reaches_each_reader_once_in_order_and_gaps_are_filled():
    await publish_many("room:a", 1)
    async with (
        StreamListener("room:a", since=1) as reader,
        StreamListener("room:b", since=0) as other,
    ):
        stored = [live_event(await store("room:a", "n", {"n": n})) for n in range(2, 10)]
        b_first = live_event(await store("room:b", "n", {"n": 1}))
        hub = get_hub()
        hub.dispatch_batch([*stored[:3], b_first, *stored[3:5]])  # a: 2-4, b: 1, a: 5-6
        assert seqs(await reader.take(5)) == [2, 3, 4, 5, 6]
        assert seqs(await other.take(1)) == [1]
        hub.dispatch_batch(stored[1:5])  # 3-6 again
        assert await reader.nothing_more()
        hub.dispatch_batch(stored[6:])  # 8-9: 7 is only in the database
        assert seqs(await reader.take(3)) == [7, 8, 9]
        assert await reader.nothing_more() and await other.nothing_more()


async def test_a_batch_larger_than_a_readers_queue_overflows_it():
    async with StreamListener("room:a", limit=5) as listener:
        events = [live_event(await store("room:a", "n", {"n": n})) for n in range(6)]
        get_hub().dispatch_batch(events)
        assert listener.outbox.overflowed
