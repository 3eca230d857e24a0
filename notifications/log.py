"""The event log: per-stream gapless seqs, history reads and retention."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connections, models, router, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from notifications.wire import Encoded, LiveEvent, dumps, envelope, storable


class Stream(models.Model):
    """The head of one stream's log: the last allocated seq and the retention mark."""

    key = models.CharField(max_length=200, primary_key=True)
    last_seq = models.BigIntegerField(default=0)
    pruned_seq = models.BigIntegerField(
        default=0, help_text="Events up to this seq were deleted by retention."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "notifications"
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class Event(models.Model):
    """One persisted event; `(stream, seq)` is its cursor."""

    stream = models.CharField(max_length=200)
    seq = models.BigIntegerField()
    type = models.CharField(max_length=100)
    data = models.JSONField(encoder=DjangoJSONEncoder, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        app_label = "notifications"
        ordering = ["stream", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "seq"], name="notifications_event_cursor"),
        ]

    def __str__(self) -> str:
        return f"{self.stream}#{self.seq} {self.type}"

    def as_live_event(self) -> LiveEvent:
        return LiveEvent.create(
            self.stream, self.seq, self.type, self.data, self.created_at.isoformat()
        )


def _upserts(connection: Any) -> bool:
    return (
        connection.vendor in ("postgresql", "sqlite")
        and connection.features.can_return_columns_from_insert
    )


def _take_seq_sql(connection: Any) -> str:
    table = connection.ops.quote_name(Stream._meta.db_table)
    return (
        f"INSERT INTO {table} (key, last_seq, pruned_seq, created_at, updated_at) "
        "VALUES (%s, 1, 0, %s, %s) ON CONFLICT (key) DO UPDATE SET "
        f"last_seq = {table}.last_seq + 1, updated_at = excluded.updated_at "
        "RETURNING last_seq"
    )


def allocate_seq(stream: str, using: str) -> int:
    """Take the stream's next seq; the row stays locked until the transaction ends."""
    connection = connections[using]
    now = timezone.now()
    if not _upserts(connection):
        return _allocate_seq_portably(stream, using, now)
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_take_seq_sql(connection), [stream, stamp, stamp])
        row = cursor.fetchone()
    return int(row[0])


def _allocate_seq_portably(
    stream: str, using: str, now: datetime | None = None, count: int = 1
) -> int:
    """Take `count` seqs of the stream; returns the last of them."""
    now = now or timezone.now()
    streams = Stream.objects.using(using).filter(key=stream)
    if not streams.update(last_seq=F("last_seq") + count, updated_at=now):
        try:
            with transaction.atomic(using=using):
                Stream.objects.using(using).create(key=stream, last_seq=count, updated_at=now)
            return count
        except IntegrityError:
            streams.update(last_seq=F("last_seq") + count, updated_at=now)
    return int(streams.values_list("last_seq", flat=True).get())


EVENT_FIELDS = ["id", "stream", "seq", "type", "data", "created_at"]


def store_event(stream: str, type: str, data: Any, using: str | None = None) -> Event:
    """Store one event with the stream's next seq; the stream's row stays locked until the
    transaction ends. One statement on PostgreSQL."""
    using = using or router.db_for_write(Event)
    connection = connections[using]
    now = timezone.now()
    if not _upserts(connection):
        with transaction.atomic(using=using):
            seq = _allocate_seq_portably(stream, using, now)
            return Event.objects.using(using).create(
                stream=stream, seq=seq, type=type, data=data, created_at=now
            )
    table = connection.ops.quote_name(Event._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    encoded = None if data is None else dumps(data)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH head AS ({_take_seq_sql(connection)}) "
                f"INSERT INTO {table} (stream, seq, type, data, created_at) "
                "SELECT %s, last_seq, %s, %s::jsonb, %s FROM head RETURNING id, seq",
                [stream, stamp, stamp, stream, type, encoded, stamp],
            )
            pk, seq = cursor.fetchone()
        else:
            with transaction.atomic(using=using):
                seq = allocate_seq(stream, using)
                cursor.execute(
                    f"INSERT INTO {table} (stream, seq, type, data, created_at) "
                    "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                    [stream, seq, type, encoded, stamp],
                )
                (pk,) = cursor.fetchone()
    return Event.from_db(using, EVENT_FIELDS, (pk, stream, int(seq), type, data, now))


def _takes_json_rows(connection: Any) -> bool:
    """Whether the database can read a batch's rows from one JSON parameter."""
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and bool(
        connection.Database.sqlite_version_info >= (3, 38)
    )


def _json_rows(connection: Any) -> tuple[str, str]:
    """The FROM clause reading a JSON array parameter, and how it reads element `i`."""
    if connection.vendor == "postgresql":
        return (
            "jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS item(value, n) "
            "WHERE true ORDER BY item.n",
            "(item.value->>{i})",
        )
    return "json_each(%s) AS item WHERE true ORDER BY item.key", "(item.value->>{i})"


def allocate_seqs(counts: dict[str, int], using: str) -> dict[str, int]:
    """Take `counts[stream]` consecutive seqs of each stream; returns each stream's first.
    One statement for the whole batch; rows are locked in key order (so concurrent batches
    cannot deadlock) until the transaction ends."""
    connection = connections[using]
    keys = sorted(counts)
    if not _takes_json_rows(connection):
        return {
            key: _allocate_seq_portably(key, using, count=counts[key]) - counts[key] + 1
            for key in keys
        }
    table = connection.ops.quote_name(Stream._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    rows, column = _json_rows(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, last_seq, pruned_seq, created_at, updated_at) "
            f"SELECT {column.format(i=0)}, CAST({column.format(i=1)} AS bigint), 0, %s, %s "
            f"FROM {rows} ON CONFLICT (key) DO UPDATE SET "
            f"last_seq = {table}.last_seq + excluded.last_seq, "
            "updated_at = excluded.updated_at RETURNING key, last_seq",
            [stamp, stamp, dumps([[key, counts[key]] for key in keys])],
        )
        heads = {key: int(last) for key, last in cursor.fetchall()}
    return {key: heads[key] - counts[key] + 1 for key in keys}


@dataclass(slots=True)
class StoredBatch:
    events: list[Event]
    live: list[LiveEvent]


def store_events(items: Sequence[tuple[str, str, Any]], using: str | None = None) -> StoredBatch:
    """Store many events in one transaction: set-based seq allocation and inserts, each
    stream's events in the order given; each event's data is JSON-encoded once, for the row and
    for its live envelope (or given encoded, as `Encoded`)."""
    using = using or router.db_for_write(Event)
    if not items:
        return StoredBatch([], [])
    with transaction.atomic(using=using):
        next_seq = allocate_seqs(Counter(stream for stream, _, _ in items), using)
        now = timezone.now()
        at = dumps(now.isoformat())
        quoted: dict[str, str] = {}
        rows = []
        seqs = []
        encoded = []
        values = []
        for stream, type, data in items:
            if isinstance(data, Encoded):
                data_json, data = data.json, data.value
            else:
                data_json = storable(dumps(data))
            values.append(data)
            seq = next_seq[stream]
            next_seq[stream] = seq + 1
            seqs.append(seq)
            stream_json = quoted.get(stream) or quoted.setdefault(stream, dumps(stream))
            type_json = quoted.get(type) or quoted.setdefault(type, dumps(type))
            payload = envelope(stream_json, str(seq), type_json, data_json, at)
            encoded.append(LiveEvent(stream, seq, type, payload))
            rows.append(f"[{stream_json},{seq},{type_json},{data_json}]")
        connection = connections[using]
        if not _takes_json_rows(connection):
            events = Event.objects.using(using).bulk_create(
                Event(stream=stream, seq=seq, type=type, data=data, created_at=now)
                for (stream, type, _), data, seq in zip(items, values, seqs, strict=True)
            )
            return StoredBatch(events, encoded)
        ids = _insert_rows(connection, "[" + ",".join(rows) + "]", now)
    events = [
        Event.from_db(using, EVENT_FIELDS, (ids[stream, seq], stream, seq, type, data, now))
        for (stream, type, _), data, seq in zip(items, values, seqs, strict=True)
    ]
    return StoredBatch(events, encoded)


def _insert_rows(connection: Any, rows_json: str, now: datetime) -> dict[tuple[str, int], int]:
    table = connection.ops.quote_name(Event._meta.db_table)
    rows, column = _json_rows(connection)
    if connection.vendor == "postgresql":
        data = "NULLIF(item.value->3, 'null'::jsonb)"
    else:
        data = "NULLIF(item.value->3, 'null')"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (stream, seq, type, data, created_at) "
            f"SELECT {column.format(i=0)}, CAST({column.format(i=1)} AS bigint), "
            f"{column.format(i=2)}, {data}, %s FROM {rows} RETURNING id, stream, seq",
            [connection.ops.adapt_datetimefield_value(now), rows_json],
        )
        return {(stream, int(seq)): id for id, stream, seq in cursor.fetchall()}


def live_event(event: Event) -> LiveEvent:
    return event.as_live_event()


@dataclass(slots=True)
class History:
    head: int
    pruned: int
    events: list[LiveEvent]


def read_marks(stream: str) -> tuple[int, int]:
    """The stream's head (last seq) and retention mark; (0, 0) for a stream never written."""
    row = Stream.objects.filter(key=stream).values_list("last_seq", "pruned_seq").first()
    return row if row else (0, 0)


def read_history(stream: str, after: int | None, limit: int) -> History:
    """The stream's head and retention mark, and up to `limit` events after the cursor."""
    head, pruned = read_marks(stream)
    if after is None or after >= head or after < pruned:
        return History(head, pruned, [])
    events = Event.objects.filter(stream=stream, seq__gt=after).order_by("seq")[:limit]
    return History(head, pruned, [event.as_live_event() for event in events])


def read_heads(streams: list[str], chunk: int = 500) -> dict[str, int]:
    heads: dict[str, int] = {}
    for start in range(0, len(streams), chunk):
        rows = Stream.objects.filter(key__in=streams[start : start + chunk])
        heads.update(rows.values_list("key", "last_seq"))
    return heads


def read_events(
    stream: str, after: int, upto: int | None = None, limit: int = 1000
) -> list[LiveEvent]:
    events = Event.objects.filter(stream=stream, seq__gt=after)
    if upto is not None:
        events = events.filter(seq__lte=upto)
    return [event.as_live_event() for event in events.order_by("seq")[:limit]]


def read_last_event(stream: str) -> tuple[int, str] | None:
    """The seq and type of the stream's last stored event."""
    return Event.objects.filter(stream=stream).order_by("-seq").values_list("seq", "type").first()


def stream_filter(kind: str) -> Q:
    """The streams of one kind: `kind` itself and `kind:<name>`."""
    return Q(stream=kind) | Q(stream__startswith=kind + ":")


def prune_events(
    before: datetime, stream: str | None = None, *, only: Q | None = None
) -> dict[str, int]:
    """Delete each stream's events published before `before`, as a prefix of its log, and
    record the mark so that readers with older cursors get `resync`. Returns {stream: mark}."""
    old = Event.objects.filter(created_at__lt=before)
    if stream is not None:
        old = old.filter(stream=stream)
    if only is not None:
        old = old.filter(only)
    marks = dict(old.values("stream").annotate(upto=Max("seq")).values_list("stream", "upto"))
    for key, upto in marks.items():
        with transaction.atomic():
            Stream.objects.filter(key=key, pruned_seq__lt=upto).update(pruned_seq=upto)
            Event.objects.filter(stream=key, seq__lte=upto).delete()
    return marks


aread_history = sync_to_async(read_history)
aread_heads = sync_to_async(read_heads)
aread_events = sync_to_async(read_events)
aread_last_event = sync_to_async(read_last_event)
