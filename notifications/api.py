"""Publish events from anywhere: `publish` from sync code, `apublish` from async code."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Literal, overload

from asgiref.sync import sync_to_async
from django.db import router, transaction
from django.utils import timezone

from notifications import delivery
from notifications.log import Event, StoredBatch, store_event, store_events
from notifications.streams import validate_event_type, validate_stream
from notifications.wire import UNSTORABLE_MESSAGE, InvalidEventData, LiveEvent

__all__ = [
    "EphemeralEvent",
    "InvalidEventData",
    "aflush",
    "apublish",
    "apublish_many",
    "flush",
    "publish",
    "publish_many",
]

EventSpec = tuple[str, str] | tuple[str, str, Any]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class EphemeralEvent:
    """An event sent live only (`persist=False`): it has no seq and is never replayed."""

    stream: str
    type: str
    data: Any
    created_at: datetime = field(default_factory=timezone.now)

    @property
    def seq(self) -> None:
        return None

    def as_live_event(self) -> LiveEvent:
        return LiveEvent.create(
            self.stream, None, self.type, self.data, self.created_at.isoformat()
        )


@overload
def publish(
    stream: str,
    type: str,
    data: Any = ...,
    *,
    persist: Literal[True] = ...,
    using: str | None = ...,
) -> Event: ...
@overload
def publish(
    stream: str, type: str, data: Any = ..., *, persist: Literal[False], using: str | None = ...
) -> EphemeralEvent: ...
@overload
def publish(
    stream: str, type: str, data: Any = ..., *, persist: bool, using: str | None = ...
) -> Event | EphemeralEvent: ...
def publish(
    stream: str, type: str, data: Any = None, *, persist: bool = True, using: str | None = None
) -> Event | EphemeralEvent:
    """Store the event (unless `persist=False`) and send it live once the transaction commits.

    Returns the stored `Event` with its `seq`, or an `EphemeralEvent` for `persist=False`.
    A rolled-back transaction publishes nothing; a failed live send never raises. Raises
    InvalidStream, ValueError (event type) or InvalidEventData before anything is stored.
    """
    event = _prepare(stream, type, data, persist, using)
    transaction.on_commit(partial(delivery.send, event.as_live_event()), using=_alias(using))
    return event


@overload
async def apublish(
    stream: str,
    type: str,
    data: Any = ...,
    *,
    persist: Literal[True] = ...,
    using: str | None = ...,
) -> Event: ...
@overload
async def apublish(
    stream: str, type: str, data: Any = ..., *, persist: Literal[False], using: str | None = ...
) -> EphemeralEvent: ...
@overload
async def apublish(
    stream: str, type: str, data: Any = ..., *, persist: bool, using: str | None = ...
) -> Event | EphemeralEvent: ...
async def apublish(
    stream: str, type: str, data: Any = None, *, persist: bool = True, using: str | None = None
) -> Event | EphemeralEvent:
    """The async form of `publish`. It returns once the event is stored; the live send
    follows in order with this process's other sends, batched with whatever they queued."""
    if not persist:
        ephemeral = _prepare(stream, type, data, persist, using)
        delivery.send(ephemeral.as_live_event())
        return ephemeral
    event, deferred = await sync_to_async(_store_from_async)(stream, type, data, using)
    if not deferred:
        delivery.send(event.as_live_event())
    return event


def publish_many(events: Iterable[EventSpec], *, using: str | None = None) -> list[Event]:
    """Store many `(stream, type, data)` events in one transaction and send them live once it
    commits, in a bounded number of channel-layer messages.

    Each stream's events get consecutive seqs in the order given. Returns the stored events in
    that order. Nothing is stored if any of them is invalid; a rolled-back transaction
    publishes nothing; a failed live send never raises.
    """
    stored = store_events(_validated(events), _alias(using))
    if stored.live:
        transaction.on_commit(partial(delivery.send_many, stored.live), using=_alias(using))
    return stored.events


async def apublish_many(events: Iterable[EventSpec], *, using: str | None = None) -> list[Event]:
    """The async form of `publish_many`."""
    stored, deferred = await sync_to_async(_store_many_from_async)(list(events), using)
    if stored.live and not deferred:
        delivery.send_many(stored.live)
    return stored.events


def flush(timeout: float | None = 10.0) -> None:
    """Wait until the live sends of everything this process published so far have left.
    Sends never need it to arrive; a script may call it before it exits early."""
    delivery.flush(timeout)


async def aflush() -> None:
    """The async form of `flush`."""
    await delivery.aflush()


def _validated(events: Iterable[EventSpec]) -> list[tuple[str, str, Any]]:
    items = []
    for spec in events:
        if not isinstance(spec, tuple | list) or len(spec) not in (2, 3):
            raise ValueError(f"Expected (stream, type) or (stream, type, data), got {spec!r}.")
        stream, type, data = spec[0], spec[1], spec[2] if len(spec) == 3 else None
        items.append((validate_stream(stream), validate_event_type(type), data))
    return items


def _store_many_from_async(
    events: Sequence[EventSpec], using: str | None
) -> tuple[StoredBatch, bool]:
    alias = _alias(using)
    in_transaction = transaction.get_connection(alias).in_atomic_block
    if in_transaction:
        return StoredBatch(publish_many(events, using=alias), []), True
    return store_events(_validated(events), alias), False


def validate_data(data: Any) -> Any:
    """Refuse what no database can store as JSON: NUL characters and lone surrogates."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                raise InvalidEventData(UNSTORABLE_MESSAGE)
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
    return data


def ephemeral_event(stream: str, type: str, data: Any = None) -> EphemeralEvent:
    validate_stream(stream)
    validate_event_type(type)
    return EphemeralEvent(stream, type, validate_data(data))


def _alias(using: str | None) -> str:
    return using or router.db_for_write(Event)


@overload
def _prepare(
    stream: str, type: str, data: Any, persist: Literal[True], using: str | None
) -> Event: ...
@overload
def _prepare(
    stream: str, type: str, data: Any, persist: bool, using: str | None
) -> Event | EphemeralEvent: ...
def _prepare(
    stream: str, type: str, data: Any, persist: bool, using: str | None
) -> Event | EphemeralEvent:
    if not persist:
        return ephemeral_event(stream, type, data)
    validate_stream(stream)
    validate_event_type(type)
    return store_event(stream, type, validate_data(data), _alias(using))


def _store_from_async(stream: str, type: str, data: Any, using: str | None) -> tuple[Event, bool]:
    alias = _alias(using)
    event = _prepare(stream, type, data, True, alias)
    in_transaction = transaction.get_connection(alias).in_atomic_block
    if in_transaction:
        transaction.on_commit(partial(delivery.send, event.as_live_event()), using=alias)
    return event, in_transaction
