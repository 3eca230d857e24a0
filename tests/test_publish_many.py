import random
import threading
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from notifications import delivery, log
from notifications.api import InvalidEventData, apublish_many, publish, publish_many
from notifications.log import Event, Stream, _allocate_seq_portably, store_events
from notifications.streams import HUBS_GROUP, InvalidStream, group_name
from notifications.testing import StreamListener

pytestmark = pytest.mark.django_db(transaction=True)


def stored(stream):
    return list(Event.objects.filter(stream=stream).order_by("seq").values_list("seq", "type"))


def test_each_streams_events_get_consecutive_seqs_in_the_order_given():
    publish("room:a", "earlier")
    events = publish_many(
        [("room:a", "one"), ("room:b", "two", {"n": 2}), ("room:a", "three", [3]), ("room:c", "x")]
    )
    assert [(e.stream, e.seq, e.type) for e in events] == [
        ("room:a", 2, "one"),
        ("room:b", 1, "two"),
        ("room:a", 3, "three"),
        ("room:c", 1, "x"),
    ]
    assert stored("room:a") == [(1, "earlier"), (2, "one"), (3, "three")]
    assert Event.objects.get(stream="room:b").data == {"n": 2}
    assert dict(Stream.objects.values_list("key", "last_seq")) == {
        "room:a": 3,
        "room:b": 1,
        "room:c": 1,
    }
    assert publish("room:b", "after").seq == 2
    assert publish_many([]) == []


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (("not a key!", "x"), InvalidStream),
        (("room:a", "bad type!"), ValueError),
        (("room:a", "x", {"t": "\u0000"}), InvalidEventData),
        (("room:a",), ValueError),
    ],
)
def test_one_invalid_event_stores_none_of_the_batch(bad, error):
    with pytest.raises(error):
        publish_many([("room:a", "fine"), bad])
    assert not Event.objects.exists() and not Stream.objects.exists()


async def test_a_rolled_back_batch_publishes_nothing_and_its_seqs_are_reused():
    def publish_then_fail():
        with transaction.atomic():
            publish_many([("room:a", "doomed"), ("room:b", "doomed")])
            raise RuntimeError("rollback")

    async with StreamListener("room:a") as a, StreamListener("room:b") as b:
        with pytest.raises(RuntimeError):
            await sync_to_async(publish_then_fail)()
        await sync_to_async(publish_many)([("room:a", "kept"), ("room:b", "kept")])
        assert [(m["seq"], m["event"]) for m in [await a.next(), await b.next()]] == [
            (1, "kept"),
            (1, "kept"),
        ]
        assert await a.nothing_more() and await b.nothing_more()
    assert not await Event.objects.filter(type="doomed").aexists()


async def test_readers_of_each_stream_get_exactly_their_events_in_order(memory_layer):
    streams = [f"room:r{n}" for n in range(12)]
    listeners = [StreamListener(stream) for stream in streams]
    for listener in listeners:
        await listener.__aenter__()
    try:
        await apublish_many([(stream, "batch", {"n": n}) for n in range(3) for stream in streams])
        await apublish_many([(streams[0], "targeted", {"n": 3}), (streams[1], "targeted")])
        for stream, listener in zip(streams, listeners, strict=True):
            count = 4 if stream in streams[:2] else 3
            messages = await listener.take(count)
            assert [m["seq"] for m in messages] == list(range(1, count + 1))
            assert all(m["stream"] == stream for m in messages)
            assert [m["data"]["n"] for m in messages[:3]] == [0, 1, 2]
            assert await listener.nothing_more(0.1)
    finally:
        for listener in listeners:
            await listener.__aexit__(None, None, None)


async def test_a_batch_over_many_streams_is_a_bounded_number_of_layer_messages(
    memory_layer, monkeypatch
):
    layer = get_channel_layer()
    sent: list[tuple[str, int]] = []
    original = layer.group_send

    async def counting_group_send(group, message):
        sent.append((group, len(message.get("events", [None]))))
        await original(group, message)

    monkeypatch.setattr(layer, "group_send", counting_group_send)
    streams = [f"user:{n}" for n in range(2500)]
    async with StreamListener(streams[-1]) as listener:
        await apublish_many([(stream, "notification.created") for stream in streams])
        message = await listener.next()
    assert (message["stream"], message["seq"]) == (streams[-1], 1)
    per_message = delivery.MAX_BATCH_EVENTS
    assert sent == [(HUBS_GROUP, per_message), (HUBS_GROUP, per_message), (HUBS_GROUP, 500)]

    sent.clear()
    await apublish_many([("room:a", "x"), ("room:a", "y"), ("room:b", "z")])
    await delivery.aflush()
    assert sorted(sent) == sorted([(group_name("room:a"), 2), (group_name("room:b"), 1)])


@pytest.mark.parametrize("json_rows", [True, False], ids=["json-rows", "portable"])
def test_batches_and_single_events_store_data_alike_and_send_what_a_reread_sends(
    json_rows, monkeypatch
):
    if not json_rows:
        monkeypatch.setattr(log, "_takes_json_rows", lambda connection: False)
        monkeypatch.setattr(log, "_upserts", lambda connection: False)
    values = [None, "text", 3, 2.5, True, [1, "two"], {"nested": {"é": "\u2028 line"}}]
    values += [datetime(2026, 12, 3, 8, 30, tzinfo=UTC), Decimal("1.10"), UUID(int=7)]
    batch = store_events([("room:a", "value", value) for value in values])
    single = [publish("room:b", "value", value) for value in values]
    stored = {(e.stream, e.seq): e for e in Event.objects.all()}
    for many, live, one in zip(batch.events, batch.live, single, strict=True):
        again = stored[many.stream, many.seq]
        assert (many.pk, many.created_at) == (again.pk, again.created_at)
        assert again.data == stored[one.stream, one.seq].data
        assert many.data == one.data
        assert live.payload == again.as_live_event().payload
        reread = stored[one.stream, one.seq]
        assert (one.pk, one.created_at) == (reread.pk, reread.created_at)
        assert one.as_live_event().payload == reread.as_live_event().payload
    assert Event.objects.filter(stream="room:b", data__isnull=True).count() == 1
    assert Event.objects.filter(stream="room:a", data__isnull=True).count() == 1
    assert Event.objects.get(stream="room:a", seq=7).data == {"nested": {"é": "\u2028 line"}}


def test_a_thousand_stream_batch_takes_a_bounded_number_of_queries():
    streams = [f"user:{n}" for n in range(1000)]
    publish_many([(stream, "first") for stream in streams[:500]])
    with CaptureQueriesContext(connection) as queries:
        publish_many([(stream, "notification.created", {"n": 1}) for stream in streams])
    assert len(queries) <= 4, [q["sql"][:80] for q in queries]
    assert Event.objects.filter(type="notification.created").count() == 1000
    assert Stream.objects.get(key="user:0").last_seq == 2
    assert Stream.objects.get(key="user:999").last_seq == 1


def test_concurrent_batches_and_single_publishes_stay_gapless_in_commit_order():
    """4 publishers of batches over the same 40 streams (each in its own shuffled order) and
    2 single publishers: every stream's seqs are 1..n exactly once, and a reader never sees a
    seq committed before a smaller one."""
    streams = [f"room:s{n}" for n in range(40)]
    done = threading.Event()
    problems: list[str] = []

    def batch_publisher(index: int) -> None:
        shuffled = random.Random(index)
        try:
            for n in range(25):
                order = shuffled.sample(streams, len(streams))
                with transaction.atomic():
                    publish_many([(stream, "batch", {"p": index, "n": n}) for stream in order])
        except Exception as error:  # pragma: no cover - reported below
            problems.append(repr(error))
        finally:
            connection.close()

    def single_publisher(index: int) -> None:
        try:
            for n in range(100):
                publish(streams[n % len(streams)], "single", {"p": index, "n": n})
        except Exception as error:  # pragma: no cover - reported below
            problems.append(repr(error))
        finally:
            connection.close()

    def reader() -> None:
        try:
            while not done.is_set():
                rows = Event.objects.filter(stream__in=streams).values_list("stream", "seq")
                seen: dict[str, list[int]] = {}
                for stream, seq in rows.order_by("stream", "seq"):
                    seen.setdefault(stream, []).append(seq)
                for stream, seqs in seen.items():
                    if seqs != list(range(1, len(seqs) + 1)):
                        problems.append(f"{stream}: a hole in {len(seqs)} events")
                        return
        finally:
            connection.close()

    threads = [threading.Thread(target=batch_publisher, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=single_publisher, args=(i,)) for i in range(2)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()

    assert problems == []
    for index, stream in enumerate(streams):
        per_stream = 4 * 25 + 2 * len(range(index, 100, len(streams)))
        seqs = list(Event.objects.filter(stream=stream).values_list("seq", flat=True))
        assert sorted(seqs) == list(range(1, per_stream + 1)), stream
        assert Stream.objects.get(key=stream).last_seq == per_stream


def test_the_portable_allocation_takes_a_streams_seqs_in_one_step():
    publish("room:p", "x")
    with transaction.atomic():
        assert _allocate_seq_portably("room:p", "default", count=3) == 4
        assert _allocate_seq_portably("room:q", "default", count=2) == 2
    assert publish("room:p", "y").seq == 5 and publish("room:q", "y").seq == 3
