"""The subscription core both transports share:
authorize -> subscribe -> replay after the cursor -> live, de-duplicated by seq."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from notifications.conf import app_settings
from notifications.hub import Hub, get_hub
from notifications.log import aread_events
from notifications.policy import Forbidden, NotAuthenticated
from notifications.policy import aauthorize as authorize
from notifications.wire import Control, Item, LiveEvent

__all__ = [
    "INVALID_CURSOR",
    "Control",
    "Cursor",
    "Forbidden",
    "Item",
    "NotAuthenticated",
    "Outbox",
    "Subscription",
    "authorize",
    "parse_cursor",
]


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID_CURSOR"


INVALID_CURSOR: Final = _Invalid()
Cursor = int | None | _Invalid


def parse_cursor(value: object) -> Cursor:
    """`None` means "from now"; a garbage cursor is kept as INVALID and answered with resync."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return INVALID_CURSOR
    if isinstance(value, int):
        return value if value >= 0 else INVALID_CURSOR
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        return int(value)
    return INVALID_CURSOR


class Outbox:
    """A connection's bounded queue of outgoing items; the transport drains it."""

    __slots__ = ("_space", "items", "limit", "on_ready", "overflowed")

    def __init__(self, on_ready: Callable[[], None], limit: int | None = None) -> None:
        self.items: list[Item] = []
        self.limit = limit or app_settings.MAX_BUFFERED_EVENTS
        self.overflowed = False
        self.on_ready = on_ready
        self._space: asyncio.Event | None = None

    def push(self, item: Item) -> None:
        """Queue an item; a reader too slow to keep the queue under its limit is overflowed.
        A coalescing ephemeral event replaces a queued one of its stream and type."""
        if self.overflowed:
            return
        if isinstance(item, LiveEvent) and item.coalesce and self._replace(item):
            return
        if len(self.items) >= self.limit:
            self.overflowed = True
            self.items = []
        else:
            self.items.append(item)
        self.on_ready()

    def extend(self, events: list[LiveEvent]) -> None:
        """`push` for many events that do not coalesce."""
        if self.overflowed:
            return
        if len(self.items) + len(events) > self.limit:
            self.overflowed = True
            self.items = []
        else:
            self.items.extend(events)
        self.on_ready()

    def push_control(self, item: Control) -> None:
        """Queue a control message regardless of the limit."""
        if not self.overflowed:
            self.items.append(item)
            self.on_ready()

    def take(self) -> list[Item]:
        items, self.items = self.items, []
        if self._space is not None:
            self._space.set()
        return items

    async def wait_for_space(self) -> None:
        """Replay is pulled from the database, so it waits for room instead of overflowing."""
        while len(self.items) >= self.limit // 2 and not self.overflowed:
            if self._space is None:
                self._space = asyncio.Event()
            self._space.clear()
            await self._space.wait()

    def _replace(self, event: LiveEvent) -> bool:
        for index, queued in enumerate(self.items):
            if (
                isinstance(queued, LiveEvent)
                and queued.coalesce
                and queued.stream == event.stream
                and queued.type == event.type
            ):
                del self.items[index]
                self.items.append(event)
                return True
        return False


class Subscription:
    """One connection reading one stream."""

    __slots__ = ("cursor", "held", "held_overflow", "hub", "outbox", "replaying", "stream")

    def __init__(self, stream: str, outbox: Outbox, hub: Hub | None = None) -> None:
        self.stream = stream
        self.outbox = outbox
        self.hub = hub or get_hub()
        self.cursor = 0
        self.replaying = True
        self.held: list[LiveEvent] = []
        self.held_overflow = False

    def deliver(self, event: LiveEvent) -> None:
        """Called by the hub, in seq order, with every live event of the stream."""
        if self.replaying:
            if len(self.held) < self.outbox.limit:
                self.held.append(event)
            else:
                self.held_overflow = True
            return
        if event.seq is not None:
            if event.seq <= self.cursor:
                return
            self.cursor = event.seq
        self.outbox.push(event)

    def deliver_run(self, events: list[LiveEvent]) -> None:
        """`deliver` for consecutive stored events of the stream, in seq order."""
        if self.replaying:
            for event in events:
                self.deliver(event)
            return
        cursor = self.cursor
        if events[0].seq is None or events[0].seq <= cursor:
            events = [event for event in events if event.seq is not None and event.seq > cursor]
            if not events:
                return
        self.cursor = events[-1].seq or cursor
        self.outbox.extend(events)

    async def start(self, since: Cursor) -> None:
        """Subscribe, replay what the reader missed, then go live."""
        try:
            await self.hub.join(self)
            await self._replay(since)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.hub.leave(self)

    async def _replay(self, since: Cursor) -> None:
        page = app_settings.REPLAY_PAGE_SIZE
        after = since if isinstance(since, int) else None
        history = await self.hub.read_history(self.stream, after, page)
        self.hub.observe_head(self.stream, history.head)
        reason = _resync_reason(since, history.head, history.pruned)
        if reason is not None:
            cursor = history.head
            self.outbox.push_control(
                Control("resync", {"stream": self.stream, "seq": cursor, "reason": reason})
            )
        elif since is None:
            cursor = history.head
        else:
            assert isinstance(since, int)
            cursor = since
            events = history.events
            while True:
                for event in events:
                    await self.outbox.wait_for_space()
                    self.outbox.push(event)
                    assert event.seq is not None
                    cursor = event.seq
                if self.held_overflow:
                    self.held.clear()
                    self.held_overflow = False
                elif len(events) < page:
                    break
                events = await aread_events(self.stream, cursor, limit=page)
        self.cursor = cursor
        held, self.held = self.held, []
        self.replaying = False
        for event in held:
            self.deliver(event)


def _resync_reason(since: Cursor, head: int, pruned: int) -> str | None:
    if isinstance(since, _Invalid):
        return "invalid"
    if since is None:
        return None
    if since > head:
        return "ahead"
    if since < pruned:
        return "pruned"
    return None
