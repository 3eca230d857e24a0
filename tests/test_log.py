import threading

import pytest
from django.db import connection, transaction

from notifications.api import publish
from notifications.log import Event, Stream, _allocate_seq_portably, read_history


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishers_get_gapless_seqs_in_commit_order():
    """8 publishers x 200 events on one stream: seqs 1..1600 exactly once, and a reader
    never sees a seq committed before a smaller one (commit order)."""
    publishers, per_publisher = 8, 200
    stream = "room:contended"
    done = threading.Event()
    seen_by: dict[int, list[int]] = {}
    problems: list[str] = []

    def publisher(index: int) -> None:
        try:
            mine = seen_by.setdefault(index, [])
            for n in range(per_publisher):
                with transaction.atomic():
                    mine.append(publish(stream, "tick", {"publisher": index, "n": n}).seq)
        except Exception as error:  # pragma: no cover - reported below
            problems.append(repr(error))
        finally:
            connection.close()

    def reader() -> None:
        try:
            while not done.is_set():
                seqs = list(Event.objects.filter(stream=stream).values_list("seq", flat=True))
                if seqs != list(range(1, len(seqs) + 1)):
                    problems.append(f"reader saw a hole: {len(seqs)} events, max {max(seqs)}")
                    return
        finally:
            connection.close()

    threads = [threading.Thread(target=publisher, args=(i,)) for i in range(publishers)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()

    assert problems == []
    total = publishers * per_publisher
    assert sorted(seq for seqs in seen_by.values() for seq in seqs) == list(range(1, total + 1))
    assert all(seqs == sorted(seqs) for seqs in seen_by.values())
    assert Stream.objects.get(key=stream).last_seq == total
    stored = list(Event.objects.filter(stream=stream).order_by("seq").values_list("seq", "data"))
    assert [seq for seq, _ in stored] == list(range(1, total + 1))


@pytest.mark.django_db
def test_portable_allocation_matches_the_upsert():
    with transaction.atomic():
        assert [_allocate_seq_portably("room:p", "default") for _ in range(3)] == [1, 2, 3]
    assert publish("room:p", "x").seq == 4


@pytest.mark.django_db
def test_rolled_back_seq_is_reused_so_the_log_stays_gapless():
    def publish_then_fail():
        with transaction.atomic():
            publish("room:r", "x")
            raise RuntimeError

    publish("room:r", "x")
    with pytest.raises(RuntimeError):
        publish_then_fail()
    assert publish("room:r", "x").seq == 2
    assert list(Event.objects.filter(stream="room:r").values_list("seq", flat=True)) == [1, 2]


@pytest.mark.django_db
def test_history_reports_head_pruned_mark_and_events_after_cursor():
    for n in range(5):
        publish("room:h", "x", n)
    Stream.objects.filter(key="room:h").update(pruned_seq=2)
    history = read_history("room:h", 3, limit=10)
    assert (history.head, history.pruned) == (5, 2)
    assert [event.seq for event in history.events] == [4, 5]
    assert read_history("room:h", 1, limit=10).events == []
    assert read_history("room:unknown", 0, limit=10).head == 0
