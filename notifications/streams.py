"""Stream keys, sequence allocation, history reads and the authorization policy."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.module_loading import import_string

from notifications.conf import app_settings
from notifications.models import Event, Room, Stream
from notifications.wire import LiveEvent

MAX_STREAM_LENGTH = 200
STREAM_KEY = re.compile(r"[a-z][a-z0-9_]*(?::[A-Za-z0-9_.@=+-]+)*")
EVENT_TYPE = re.compile(r"[A-Za-z0-9_.:-]{1,100}")

User = AbstractBaseUser | AnonymousUser


class InvalidStream(ValueError):
    pass


def validate_stream(key: object) -> str:
    if not isinstance(key, str) or len(key) > MAX_STREAM_LENGTH or not STREAM_KEY.fullmatch(key):
        raise InvalidStream(
            f"Invalid stream key {key!r}: expected 'kind' or 'kind:name' "
            f"of letters, digits and _.@=+- (at most {MAX_STREAM_LENGTH} characters)."
        )
    return key


def validate_event_type(type: object) -> str:
    if not isinstance(type, str) or not EVENT_TYPE.fullmatch(type):
        raise ValueError(f"Invalid event type {type!r}: 1-100 letters, digits and _.:- characters.")
    return type


def group_name(stream: str) -> str:
    """The channel-layer group of a stream (layer group names cannot hold every stream key)."""
    return "notifications." + hashlib.blake2b(stream.encode(), digest_size=16).hexdigest()


def allocate_seq(stream: str, using: str) -> int:
    """Take the stream's next seq; the row stays locked until the transaction ends."""
    connection = connections[using]
    now = timezone.now()
    if (
        connection.vendor in ("postgresql", "sqlite")
        and connection.features.can_return_columns_from_insert
    ):
        table = connection.ops.quote_name(Stream._meta.db_table)
        stamp = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (key, last_seq, pruned_seq, created_at, updated_at) "
                "VALUES (%s, 1, 0, %s, %s) ON CONFLICT (key) DO UPDATE SET "
                f"last_seq = {table}.last_seq + 1, updated_at = excluded.updated_at "
                "RETURNING last_seq",
                [stream, stamp, stamp],
            )
            row = cursor.fetchone()
        return int(row[0])
    return _allocate_seq_portably(stream, using, now)


def _allocate_seq_portably(stream: str, using: str, now: datetime | None = None) -> int:
    now = now or timezone.now()
    streams = Stream.objects.using(using).filter(key=stream)
    if not streams.update(last_seq=F("last_seq") + 1, updated_at=now):
        try:
            with transaction.atomic(using=using):
                Stream.objects.using(using).create(key=stream, last_seq=1, updated_at=now)
            return 1
        except IntegrityError:
            streams.update(last_seq=F("last_seq") + 1, updated_at=now)
    return int(streams.values_list("last_seq", flat=True).get())


def store_event(stream: str, type: str, data: Any, using: str | None = None) -> Event:
    using = using or router.db_for_write(Event)
    with transaction.atomic(using=using):
        seq = allocate_seq(stream, using)
        return Event.objects.using(using).create(stream=stream, seq=seq, type=type, data=data)


def live_event(event: Event) -> LiveEvent:
    return LiveEvent.create(
        event.stream, event.seq, event.type, event.data, event.created_at.isoformat()
    )


@dataclass(slots=True)
class History:
    head: int
    pruned: int
    events: list[LiveEvent]


def read_history(stream: str, after: int | None, limit: int) -> History:
    """The stream's head and retention mark, and up to `limit` events after the cursor."""
    row = Stream.objects.filter(key=stream).values_list("last_seq", "pruned_seq").first()
    head, pruned = row if row else (0, 0)
    if after is None or after >= head or after < pruned:
        return History(head, pruned, [])
    events = Event.objects.filter(stream=stream, seq__gt=after).order_by("seq")[:limit]
    return History(head, pruned, [live_event(event) for event in events])


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
    return [live_event(event) for event in events.order_by("seq")[:limit]]


def prune_events(before: datetime, stream: str | None = None) -> dict[str, int]:
    """Delete each stream's events published before `before`, as a prefix of its log, and
    record the mark so that readers with older cursors get `resync`. Returns {stream: mark}."""
    old = Event.objects.filter(created_at__lt=before)
    if stream is not None:
        old = old.filter(stream=stream)
    marks = dict(old.values("stream").annotate(upto=Max("seq")).values_list("stream", "upto"))
    for key, upto in marks.items():
        with transaction.atomic():
            Stream.objects.filter(key=key, pruned_seq__lt=upto).update(pruned_seq=upto)
            Event.objects.filter(stream=key, seq__lte=upto).delete()
    return marks


aread_history = sync_to_async(read_history)
aread_heads = sync_to_async(read_heads)
aread_events = sync_to_async(read_events)


class StreamPolicy:
    """Who may connect, and who may read which stream. Point `STREAM_POLICY` at a subclass."""

    def can_connect(self, user: User) -> bool:
        """Whether `user` may open a connection at all; runs before the WebSocket is accepted."""
        return bool(user.is_authenticated)

    def can_read(self, user: User, stream: str) -> bool:
        """Whether `user` may read `stream` (history and live events)."""
        return False

    def can_publish(self, user: User, stream: str) -> bool:
        """Whether `user` may publish to `stream` through the REST API; staff by default."""
        return bool(user.is_authenticated and getattr(user, "is_staff", False))

    async def acan_connect(self, user: User) -> bool:
        return await sync_to_async(self.can_connect)(user)

    async def acan_read(self, user: User, stream: str) -> bool:
        return await sync_to_async(self.can_read)(user, stream)


class DefaultStreamPolicy(StreamPolicy):
    """`user:<id>` its user; `room:<slug>` members (public rooms: anyone logged in);
    `task:<id>` staff; `broadcast` anyone logged in. Other kinds: nobody."""

    def can_read(self, user: User, stream: str) -> bool:
        if not user.is_authenticated:
            return False
        kind, _, name = stream.partition(":")
        check = getattr(self, f"can_read_{kind}", None)
        return bool(check(user, name)) if check else False

    def can_read_user(self, user: User, name: str) -> bool:
        return str(user.pk) == name

    def can_read_room(self, user: User, slug: str) -> bool:
        room = Room.objects.filter(slug=slug).first()
        if room is None or user.pk is None:
            return False
        return not room.is_private or room.members.filter(pk=user.pk).exists()

    def can_read_task(self, user: User, name: str) -> bool:
        return bool(getattr(user, "is_staff", False))

    def can_read_broadcast(self, user: User, name: str) -> bool:
        return name == ""


@cache
def _load_policy(path: str) -> StreamPolicy:
    policy = import_string(path)
    return policy() if isinstance(policy, type) else policy  # type: ignore[no-any-return]


def get_policy() -> StreamPolicy:
    return _load_policy(app_settings.STREAM_POLICY)
