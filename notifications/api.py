"""Publish events from anywhere: `publish` from sync code, `apublish` from async code."""

from __future__ import annotations

from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.db import router, transaction
from django.utils import timezone

from notifications import delivery
from notifications.models import Event
from notifications.streams import live_event, store_event, validate_event_type, validate_stream

__all__ = ["apublish", "publish"]


def publish(
    stream: str, type: str, data: Any = None, *, persist: bool = True, using: str | None = None
) -> Event:
    """Store the event (unless `persist=False`) and send it live once the transaction commits.

    Returns the stored `Event` with its `seq`; an ephemeral event comes back unsaved, seq None.
    A rolled-back transaction publishes nothing; a failed live send never raises.
    """
    event = _prepare(stream, type, data, persist, using)
    transaction.on_commit(partial(delivery.send, live_event(event)), using=_alias(using))
    return event


async def apublish(
    stream: str, type: str, data: Any = None, *, persist: bool = True, using: str | None = None
) -> Event:
    """The async form of `publish`."""
    if not persist:
        event = _prepare(stream, type, data, persist, using)
        await delivery.asend(live_event(event))
        return event
    event, deferred = await sync_to_async(_store_from_async)(stream, type, data, using)
    if not deferred:
        await delivery.asend(live_event(event))
    return event


def _alias(using: str | None) -> str:
    return using or router.db_for_write(Event)


def _prepare(stream: str, type: str, data: Any, persist: bool, using: str | None) -> Event:
    validate_stream(stream)
    validate_event_type(type)
    if persist:
        return store_event(stream, type, data, _alias(using))
    return Event(stream=stream, seq=None, type=type, data=data, created_at=timezone.now())  # type: ignore[misc]


def _store_from_async(stream: str, type: str, data: Any, using: str | None) -> tuple[Event, bool]:
    alias = _alias(using)
    event = _prepare(stream, type, data, True, alias)
    in_transaction = transaction.get_connection(alias).in_atomic_block
    if in_transaction:
        transaction.on_commit(partial(delivery.send, live_event(event)), using=alias)
    return event, in_transaction
