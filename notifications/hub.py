"""One layer subscription per process per stream, in-order local fan-out, database recovery."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from notifications.conf import app_settings
from notifications.delivery import get_layer
from notifications.flushing import Flusher
from notifications.streams import aread_events, aread_heads, group_name
from notifications.wire import LAYER_MESSAGE_TYPE, LiveEvent

if TYPE_CHECKING:
    from notifications.subscriptions import Subscription

logger = logging.getLogger("notifications")

MAX_PENDING = 10_000


class StreamState:
    """What this process knows of one stream: its readers and the last seq fanned out."""

    __slots__ = (
        "fill_again",
        "filling",
        "head",
        "idle_since",
        "on_layer",
        "pending",
        "ready",
        "subscribers",
    )

    def __init__(self) -> None:
        self.subscribers: set[Subscription] = set()
        self.head: int | None = None
        self.pending: dict[int, LiveEvent] = {}
        self.filling = False
        self.fill_again = False
        self.on_layer = False
        self.idle_since: float | None = None
        self.ready: asyncio.Future[None] | None = None


class Hub:
    """Receives every event for this process's streams once and hands it to each reader,
    in seq order, filling any gap from the database."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.layer: Any = get_layer()
        self.channel_name: str | None = None
        self.streams: dict[str, StreamState] = {}
        self.layer_healthy = True
        self._started: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._group_ops: dict[str, asyncio.Task[None]] = {}
        self.flusher = Flusher(loop)
        self._groups_refreshed = time.monotonic()

    async def join(self, subscription: Subscription) -> StreamState:
        """Register a reader; returns once the process is subscribed to the stream's group."""
        if self._started is None:
            self._started = self._create_task(self._start())
        await asyncio.shield(self._started)
        stream = subscription.stream
        state = self.streams.get(stream)
        if state is None:
            state = self.streams[stream] = StreamState()
            state.ready = self._group_op(stream, self._add_group(stream, state))
        state.subscribers.add(subscription)
        state.idle_since = None
        assert state.ready is not None
        await asyncio.shield(state.ready)
        return state

    def leave(self, subscription: Subscription) -> None:
        state = self.streams.get(subscription.stream)
        if state is not None:
            state.subscribers.discard(subscription)
            if not state.subscribers:
                state.idle_since = time.monotonic()

    def observe_head(self, stream: str, head: int) -> None:
        """A reader read the stream's head from the database: live events after it follow."""
        state = self.streams.get(stream)
        if state is not None and state.head is None:
            state.head = head
            self._advance(stream, state)

    def dispatch(self, event: LiveEvent) -> None:
        state = self.streams.get(event.stream)
        if state is None:
            return
        seq = event.seq
        if seq is None:
            self._fan_out(state, event)
            return
        head = state.head
        if head is not None and seq == head + 1 and not state.pending:
            state.head = seq
            self._fan_out(state, event)
            return
        if head is not None and seq <= head:
            return
        state.pending[seq] = event
        if len(state.pending) > MAX_PENDING:
            state.pending.clear()
        self._advance(event.stream, state)

    def stats(self) -> dict[str, int]:
        return {
            "streams": len(self.streams),
            "subscribers": sum(len(state.subscribers) for state in self.streams.values()),
        }

    def _fan_out(self, state: StreamState, event: LiveEvent) -> None:
        for subscription in tuple(state.subscribers):
            subscription.deliver(event)

    def _advance(self, stream: str, state: StreamState) -> None:
        if state.head is None:
            return
        pending = state.pending
        for seq in [seq for seq in pending if seq <= state.head]:
            del pending[seq]
        while state.head + 1 in pending:
            state.head += 1
            self._fan_out(state, pending.pop(state.head))
        if pending:
            self._request_fill(stream, state)

    def _request_fill(self, stream: str, state: StreamState) -> None:
        if state.filling:
            state.fill_again = True
            return
        state.filling = True
        self._spawn(self._fill(stream, state))

    async def _fill(self, stream: str, state: StreamState) -> None:
        """Read the events after our head from the database, which is the truth."""
        page = app_settings.REPLAY_PAGE_SIZE
        try:
            while True:
                state.fill_again = False
                assert state.head is not None
                events = await aread_events(stream, state.head, limit=page)
                for event in events:
                    assert event.seq is not None
                    if event.seq > state.head:
                        state.head = event.seq
                        state.pending.pop(event.seq, None)
                        self._fan_out(state, event)
                if len(events) == page or state.fill_again:
                    continue
                if state.pending and min(state.pending) > state.head + 1:
                    skipped = min(state.pending) - 1
                    logger.warning(
                        "%s: seqs %s..%s are not in the event log; skipping them.",
                        stream,
                        state.head + 1,
                        skipped,
                    )
                    state.head = skipped
                break
        except Exception:
            logger.warning(
                "Could not read %s from the event log; will retry.", stream, exc_info=True
            )
            return
        finally:
            state.filling = False
        self._advance(stream, state)

    def _group_op(self, stream: str, operation: Any) -> asyncio.Task[None]:
        previous = self._group_ops.get(stream)

        async def run_after_previous() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await operation

        task = self._create_task(run_after_previous())
        self._group_ops[stream] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._group_ops.get(stream) is done:
                del self._group_ops[stream]

        task.add_done_callback(forget)
        return task

    async def _add_group(self, stream: str, state: StreamState) -> None:
        if self.layer is None or self.channel_name is None:
            return
        try:
            await self.layer.group_add(group_name(stream), self.channel_name)
            state.on_layer = True
        except Exception:
            state.on_layer = False
            self.layer_healthy = False
            logger.warning(
                "Could not join the channel layer group of %s; reading it from the event log.",
                stream,
                exc_info=True,
            )

    async def _discard_group(self, stream: str) -> None:
        if self.layer is None or self.channel_name is None:
            return
        try:
            await self.layer.group_discard(group_name(stream), self.channel_name)
        except Exception:
            logger.info("Could not leave the group of %s.", stream, exc_info=True)

    async def _start(self) -> None:
        if self.layer is not None:
            try:
                self.channel_name = await self.layer.new_channel("notifications.hub")
            except Exception:
                self.layer_healthy = False
                logger.warning("The channel layer is unavailable; recovering.", exc_info=True)
            self._spawn(self._receive_loop())
        self._spawn(self._maintenance_loop())

    def _create_task(self, coroutine: Any) -> asyncio.Task[Any]:
        """Hub work runs in a fresh context: never inside the request that happened to start
        it (whose thread-sensitive executor would otherwise serve the hub's database reads)."""
        return self.loop.create_task(coroutine, context=contextvars.Context())

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = self._create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _receive_loop(self) -> None:
        delay = 0.1
        while True:
            try:
                if self.channel_name is None:
                    self.channel_name = await self.layer.new_channel("notifications.hub")
                    await self._rejoin()
                message = await self.layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception:
                if self.layer_healthy:
                    logger.warning("The channel layer failed; recovering.", exc_info=True)
                self.layer_healthy = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                if self.channel_name is not None:
                    with contextlib.suppress(Exception):
                        await self._rejoin()
                continue
            delay = 0.1
            if message.get("type") == LAYER_MESSAGE_TYPE:
                self.dispatch(LiveEvent.from_layer_message(message))

    async def _rejoin(self) -> None:
        """Rejoin every group (the layer may have lost them), then catch up from the log."""
        await self._add_groups(self.streams)
        if not self.layer_healthy:
            logger.warning("The channel layer is back; catching up from the event log.")
        self.layer_healthy = True
        self._spawn(self._resync())

    async def _add_groups(self, streams: Iterable[str]) -> None:
        for stream in list(streams):
            state = self.streams.get(stream)
            if state is None:
                continue
            await self.layer.group_add(group_name(stream), self.channel_name)
            state.on_layer = True

    async def _maintenance_loop(self) -> None:
        while True:
            await asyncio.sleep(app_settings.RESYNC_INTERVAL)
            try:
                await self._maintain()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("Live stream maintenance failed; will retry.", exc_info=True)

    async def _maintain(self) -> None:
        now = time.monotonic()
        for stream, state in list(self.streams.items()):
            if (
                not state.subscribers
                and state.idle_since is not None
                and now - state.idle_since > app_settings.STREAM_LINGER
            ):
                del self.streams[stream]
                self._group_op(stream, self._discard_group(stream))
        if self.layer is not None and self.channel_name is not None:
            expiry = float(getattr(self.layer, "group_expiry", 86400))
            off_layer = [stream for stream, state in self.streams.items() if not state.on_layer]
            try:
                if now - self._groups_refreshed > expiry / 2:
                    self._groups_refreshed = now
                    await self._add_groups(self.streams)
                elif off_layer:
                    await self._add_groups(off_layer)
            except Exception:
                logger.info("The channel layer is still unavailable.", exc_info=True)
        await self._resync()

    async def _resync(self) -> None:
        """Batched catch-up: one query for all our streams' heads, then read what we lack."""
        known = {
            stream: state.head for stream, state in self.streams.items() if state.head is not None
        }
        if not known:
            return
        heads = await aread_heads(list(known))
        for stream, head in heads.items():
            state = self.streams.get(stream)
            if state is not None and state.head is not None and head > state.head:
                self._request_fill(stream, state)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop (one per process in production)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub(loop)
    return hub
