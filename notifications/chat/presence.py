"""Who is in a room now. A connection is in a room once it has sent `chat.join` for it, while
it is subscribed to `room:<slug>` (a page that only watches a room, such as a list of rooms,
is not in it); the room's readers get `presence.join` when a user's first
connection comes (counted over every process) and `presence.leave` when their last one goes.
Both are ephemeral events with `{"user": {"id", "name"}}`.

Each process keeps its entries alive (PRESENCE_REFRESH), sweeps expired ones of any process
(PRESENCE_SWEEP_INTERVAL) and, when it stops gracefully, removes its own. A closed connection
still counts for PRESENCE_GRACE seconds, so a reload does not flap. See docs/chat.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import weakref
from typing import Any

from asgiref.sync import async_to_sync

from notifications.api import apublish
from notifications.chat.presence_store import (
    ENTER,
    EXPIRE,
    JOINED,
    LEAVE,
    MEMORY,
    Change,
    Op,
    Store,
    new_store,
    redis_address,
)
from notifications.conf import app_settings
from notifications.connection import Connection
from notifications.hub import Hub, get_hub

logger = logging.getLogger("notifications")

JOIN_EVENT = "presence.join"
LEAVE_EVENT = "presence.leave"

Key = tuple[str, str]
Who = tuple[str, str]


class Tracker:
    """One process's (one hub's) presence entries: queues enters and leaves, writes them in
    batches in order, renews them, sweeps, and publishes what changed."""

    def __init__(self, hub: Hub, store: Store) -> None:
        self.store = store
        self.live: dict[Key, Who] = {}
        self.leaving: dict[Key, tuple[asyncio.TimerHandle, Who]] = {}
        self.queue: list[Op] = []
        self.closed = False
        self._wake = asyncio.Event()
        self._task = hub.spawn(self._run())
        hub.at_close(self.aclose)

    def enter(self, connection: Connection, stream: str) -> None:
        user = connection.user_key
        if self.closed or user is None:
            return
        key = (stream, connection.id)
        pending = self.leaving.pop(key, None)
        who = (user, _who(connection.user))
        self.live[key] = who
        if pending is not None:
            pending[0].cancel()
        else:
            self._put(Op(ENTER, stream, connection.id, *who))

    def leave(self, connection: Connection, stream: str) -> None:
        key = (stream, connection.id)
        who = self.live.pop(key, None)
        if who is None or self.closed:
            return
        grace = app_settings.PRESENCE_GRACE
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            grace = 0
        if grace <= 0:
            self._put(Op(LEAVE, stream, connection.id, *who))
            return
        self.leaving[key] = (loop.call_later(grace, self._grace_over, key), who)

    def _grace_over(self, key: Key) -> None:
        pending = self.leaving.pop(key, None)
        if pending is not None and not self.closed:
            self._put(Op(LEAVE, key[0], key[1], *pending[1]))

    def _put(self, op: Op) -> None:
        self.queue.append(op)
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        renew_at = loop.time() + app_settings.PRESENCE_REFRESH
        sweep_at = loop.time() + random.uniform(0, app_settings.PRESENCE_SWEEP_INTERVAL)
        while True:
            if not self.queue:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, min(renew_at, sweep_at) - loop.time())):
                        await self._wake.wait()
            self._wake.clear()
            if self.queue:
                ops, self.queue = self.queue, []
                await self._apply(ops)
            now = loop.time()
            if now >= renew_at:
                renew_at = now + app_settings.PRESENCE_REFRESH
                await self._apply(self._renewals())
            if now >= sweep_at:
                sweep_at = now + app_settings.PRESENCE_SWEEP_INTERVAL
                await self.sweep()

    def _renewals(self) -> list[Op]:
        entries = [*self.live.items(), *((key, who) for key, (_, who) in self.leaving.items())]
        return [Op(ENTER, stream, connection, *who) for (stream, connection), who in entries]

    async def sweep(self, limit: int = 500) -> None:
        """Turn expired entries (of a process that died) into leaves."""
        while True:
            try:
                async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT):
                    expired = await self.store.expired(time.time(), limit)
            except Exception:
                logger.warning("Could not read expired presence entries.", exc_info=True)
                return
            if not expired:
                return
            ops = [Op(EXPIRE, stream, connection) for stream, connection in expired]
            if not await self._apply(ops) or len(expired) < limit:
                return

    async def _apply(self, ops: list[Op]) -> bool:
        if not ops:
            return True
        now = time.time()
        try:
            async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT):
                changes = await self.store.apply(ops, now + app_settings.PRESENCE_TTL, now)
        except Exception:
            logger.warning(
                "Could not update %s presence entries; they will be renewed or expire.",
                len(ops),
                exc_info=True,
            )
            return False
        await publish(changes)
        return True

    async def aclose(self) -> None:
        """Remove this process's entries now (the server is stopping)."""
        if self.closed:
            return
        self.closed = True
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task
        ops, self.queue = self.queue, []
        for key, (timer, who) in self.leaving.items():
            timer.cancel()
            ops.append(Op(LEAVE, key[0], key[1], *who))
        ops.extend(
            Op(LEAVE, stream, connection, *who) for (stream, connection), who in self.live.items()
        )
        self.leaving.clear()
        self.live.clear()
        await self._apply(ops)
        with contextlib.suppress(Exception):
            await self.store.aclose()


async def publish(changes: list[Change]) -> None:
    for change in changes:
        event = JOIN_EVENT if change.kind == JOINED else LEAVE_EVENT
        try:
            user = json.loads(change.who)
            await apublish(change.stream, event, {"user": user}, persist=False)
        except Exception:
            logger.warning("Could not publish %s on %s.", event, change.stream, exc_info=True)


_trackers: weakref.WeakKeyDictionary[Hub, Tracker] = weakref.WeakKeyDictionary()


def tracker_for(hub: Hub) -> Tracker:
    tracker = _trackers.get(hub)
    if tracker is None:
        tracker = _trackers[hub] = Tracker(hub, new_store())
    return tracker


_joined: set[Key] = set()


def joined(connection: Connection, stream: str) -> None:
    """`connection` joined the room (`chat.join`): from its subscription on, it is in it."""
    _joined.add((stream, connection.id))


def enter(connection: Connection, stream: str) -> None:
    """The `on_enter` hook of the `room` kind."""
    if (stream, connection.id) in _joined:
        tracker_for(connection.hub).enter(connection, stream)


def leave(connection: Connection, stream: str) -> None:
    """The `on_leave` hook of the `room` kind."""
    if connection.closed:
        _joined.discard((stream, connection.id))
    tracker = _trackers.get(connection.hub)
    if tracker is not None:
        tracker.leave(connection, stream)


async def asnapshot(stream: str) -> list[dict[str, Any]]:
    """The users in `stream` now: `[{"id", "name", "connections"}]`, by name."""
    store = tracker_for(get_hub()).store
    async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT):
        users = await store.users(stream)
    return _listing(users)


async def present(stream: str) -> list[dict[str, Any]]:
    """`asnapshot`, or nobody if presence cannot be read now (a join never fails for it)."""
    try:
        return await asnapshot(stream)
    except Exception:
        logger.warning("Could not read who is in %s.", stream, exc_info=True)
        return []


async def acounts(stream: str) -> dict[str, int]:
    """`{"users", "connections"}` in `stream` now (two HLENs)."""
    store = tracker_for(get_hub()).store
    async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT):
        users, connections = await store.counts(stream)
    return {"users": users, "connections": connections}


def snapshot(stream: str) -> list[dict[str, Any]]:
    """`asnapshot` for sync code (views, the REST API)."""
    if redis_address() is None:
        return _listing(MEMORY.users(stream))
    return async_to_sync(_once)(asnapshot_of, stream)  # type: ignore[no-any-return]


def counts(stream: str) -> dict[str, int]:
    """`acounts` for sync code."""
    if redis_address() is None:
        users, connections = MEMORY.count(stream)
        return {"users": users, "connections": connections}
    return async_to_sync(_once)(acounts_of, stream)  # type: ignore[no-any-return]


async def asnapshot_of(store: Store, stream: str) -> list[dict[str, Any]]:
    return _listing(await store.users(stream))


async def acounts_of(store: Store, stream: str) -> dict[str, int]:
    users, connections = await store.counts(stream)
    return {"users": users, "connections": connections}


async def _once(read: Any, stream: str) -> Any:
    store = new_store()
    try:
        async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT):
            return await read(store, stream)
    finally:
        await store.aclose()


def _listing(users: list[tuple[str, int]]) -> list[dict[str, Any]]:
    listing = [{**json.loads(who), "connections": n} for who, n in users]
    return sorted(listing, key=lambda user: (str(user.get("name")), str(user.get("id"))))


def _who(user: Any) -> str:
    pk = user.pk
    return json.dumps(
        {"id": pk if isinstance(pk, int) else str(pk), "name": user.get_username()},
        separators=(",", ":"),
    )


__all__ = ["JOIN_EVENT", "LEAVE_EVENT", "acounts", "asnapshot", "counts", "present", "snapshot"]
