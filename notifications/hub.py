"""One layer subscription per process per stream, in-order local fan-out, database recovery;
the process's registry of connections (per-user caps, revalidation, addressing)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from asgiref.sync import sync_to_async

from notifications import delivery, kinds
from notifications.auth import ainvalid_credentials
from notifications.conf import app_settings
from notifications.delivery import get_layer
from notifications.flushing import Flusher
from notifications.limits import TokenBucket
from notifications.log import History, aread_events, aread_heads, read_history
from notifications.streams import HUBS_GROUP, User, group_name, split_stream
from notifications.wire import BATCH_MESSAGE_TYPE, LAYER_MESSAGE_TYPE, LiveEvent, events_from_batch

if TYPE_CHECKING:
    from notifications.connection import Connection

logger = logging.getLogger("notifications")

MAX_PENDING = 10_000
GROUP_OPS_AT_ONCE = 16
REVALIDATE_AT_ONCE = 50
REVALIDATE_PAUSE = 0.01
"""Group joins and leaves in flight at once: a reconnect storm reuses a few layer connections
instead of opening one per stream."""
PROBE_MESSAGE_TYPE = "notifications.probe"


class Reader(Protocol):
    stream: str

    def deliver(self, event: LiveEvent) -> None: ...

    def deliver_run(self, events: list[LiveEvent]) -> None: ...


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
        "resync_head",
        "subscribers",
    )

    def __init__(self) -> None:
        self.subscribers: set[Reader] = set()
        self.head: int | None = None
        self.pending: dict[int, LiveEvent] = {}
        self.filling = False
        self.fill_again = False
        self.on_layer = False
        self.idle_since: float | None = None
        self.ready: asyncio.Future[None] | None = None
        self.resync_head = 0


class Hub:
    """Receives every event for this process's streams once and hands it to each reader,
    in seq order, filling any gap from the database."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.layer: Any = get_layer()
        self.channel_name: str | None = None
        self.streams: dict[str, StreamState] = {}
        self.layer_healthy = True
        self.in_hubs_group = False
        self.connections: set[Connection] = set()
        self.connections_per_user: Counter[str] = Counter()
        self._user_buckets: dict[str, TokenBucket] = {}
        self._started: asyncio.Task[None] | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._group_ops: dict[str, asyncio.Task[None]] = {}
        self._group_slots = asyncio.Semaphore(GROUP_OPS_AT_ONCE)
        self._history_reads: dict[tuple[str, int | None, int], _SharedRead] = {}
        self._layer_spans_processes = self.layer is not None and not _in_process_only(self.layer)
        self.flusher = Flusher(loop)
        self._groups_refreshed = time.monotonic()
        self._checks_due: dict[Connection, float] = {}
        self._revalidating = False
        self._resynced = time.monotonic()
        self._probe_id = 0
        self._probe_sent_at: float | None = None
        self._probed = time.monotonic()
        self._stopped = False
        self._closers: list[Callable[[], Awaitable[None]]] = []
        delivery.serve_on(loop)

    async def join(self, subscription: Reader) -> StreamState:
        """Register a reader; returns once the process is subscribed to the stream's group."""
        self._ensure_started()
        assert self._started is not None
        await asyncio.shield(self._started)
        stream = subscription.stream
        state = self.streams.get(stream)
        if state is None:
            state = self.streams[stream] = StreamState()
            state.ready = self._group_op(stream, self._add_group(stream, state))
            state.ready.add_done_callback(partial(_joined, state))
        state.subscribers.add(subscription)
        state.idle_since = None
        if state.ready is not None:
            await asyncio.shield(state.ready)
        return state

    def leave(self, subscription: Reader) -> None:
        state = self.streams.get(subscription.stream)
        if state is not None:
            state.subscribers.discard(subscription)
            if not state.subscribers:
                state.idle_since = time.monotonic()

    def has_room_for(self, user: User) -> bool:
        """Whether `user` may open one more connection in this process."""
        if not user.is_authenticated:
            return True
        count = self.connections_per_user[str(user.pk)]
        return count < app_settings.MAX_CONNECTIONS_PER_USER

    def add_connection(self, connection: Connection) -> bool:
        """Count a connection against its user's cap; False if the user has too many."""
        self._ensure_started()
        user = connection.user_key
        if user is not None:
            if self.connections_per_user[user] >= app_settings.MAX_CONNECTIONS_PER_USER:
                return False
            self.connections_per_user[user] += 1
        self.connections.add(connection)
        if connection.credential is not None:
            self._checks_due[connection] = time.monotonic() + first_check(
                app_settings.SESSION_REVALIDATE_INTERVAL
            )
        return True

    def remove_connection(self, connection: Connection) -> None:
        if connection not in self.connections:
            return
        self.connections.discard(connection)
        self._checks_due.pop(connection, None)
        user = connection.user_key
        if user is not None:
            self.connections_per_user[user] -= 1
            if self.connections_per_user[user] <= 0:
                del self.connections_per_user[user]
                self._user_buckets.pop(user, None)

    def user_bucket(self, user: str) -> TokenBucket:
        """The frame-rate bucket all of one user's connections in this process share."""
        bucket = self._user_buckets.get(user)
        if bucket is None:
            bucket = self._user_buckets[user] = TokenBucket(
                app_settings.USER_FRAME_RATE, app_settings.USER_FRAME_BURST
            )
        return bucket

    async def read_history(self, stream: str, after: int | None, limit: int) -> History:
        """`log.read_history`, shared by the readers that ask for the same page before the
        query starts (a reconnect storm resumes many readers from one cursor). A reader that
        joined the stream before asking is safe with any read that starts later."""
        key = (stream, after, limit)
        shared = self._history_reads.get(key)
        if shared is None or shared.started:
            shared = self._history_reads[key] = _SharedRead(self.loop.create_future())
            self._spawn(self._read_history(key, shared))
        return await asyncio.shield(shared.result)

    async def _read_history(self, key: tuple[str, int | None, int], shared: _SharedRead) -> None:
        def read() -> History:
            shared.started = True
            return read_history(*key)

        try:
            shared.result.set_result(await sync_to_async(read)())
        except asyncio.CancelledError:
            shared.result.cancel()
            raise
        except Exception as error:
            shared.result.set_exception(error)
            shared.result.exception()
        finally:
            if self._history_reads.get(key) is shared:
                del self._history_reads[key]

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
            kind = kinds.kind_of(event.stream)
            event.coalesce = kind is not None and event.type in kind.coalesce
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

    def dispatch_batch(self, events: list[LiveEvent]) -> None:
        """A layer message of many events: each stream's consecutive events go to its readers
        together, as one run, where they follow its head without a gap."""
        start, count = 0, len(events)
        while start < count:
            stream = events[start].stream
            end = start + 1
            while end < count and events[end].stream == stream:
                end += 1
            if end - start == 1:
                self.dispatch(events[start])
            else:
                self._dispatch_run(events[start:end])
            start = end

    def _dispatch_run(self, run: list[LiveEvent]) -> None:
        state = self.streams.get(run[0].stream)
        if state is None:
            return
        head = state.head
        if head is None or state.pending or not _follows(run, head):
            for event in run:
                self.dispatch(event)
            return
        state.head = head + len(run)
        for subscription in tuple(state.subscribers):
            subscription.deliver_run(run)

    def stats(self) -> dict[str, int]:
        return {
            "streams": len(self.streams),
            "subscribers": sum(len(state.subscribers) for state in self.streams.values()),
            "connections": len(self.connections),
        }

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        """Run `coroutine` as a task of the hub's: it is cancelled when the hub stops."""
        return self._spawn(coroutine)

    def at_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """`await closer()` when the hub closes gracefully (the server is stopping), after
        its connections closed."""
        self._closers.append(closer)

    async def aclose(self) -> None:
        """Close gracefully: close every connection (their streams' `on_leave` hooks run),
        await the `at_close` callbacks and what they published, for at most
        LAYER_SEND_TIMEOUT, then stop."""
        if self._stopped:
            return
        for connection in list(self.connections):
            connection.close()
        closers, self._closers = self._closers, []
        try:
            async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT):
                results = await asyncio.gather(
                    *(closer() for closer in closers), return_exceptions=True
                )
                for result in results:
                    if isinstance(result, Exception):
                        logger.warning("Closing the hub: a callback failed.", exc_info=result)
                await delivery.aflush()
        except TimeoutError:
            logger.warning("Closing the hub took too long; stopping anyway.")
        finally:
            self._stop()

    def _ensure_started(self) -> None:
        if self._started is None:
            self._started = self._create_task(self._start())

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
            async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT), self._group_slots:
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
            async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT), self._group_slots:
                await self.layer.group_discard(group_name(stream), self.channel_name)
        except Exception:
            logger.info("Could not leave the group of %s.", stream, exc_info=True)

    async def _start(self) -> None:
        if self.layer is not None:
            try:
                async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT):
                    self.channel_name = await self.layer.new_channel("notifications.hub")
                    await self._join_hubs()
            except Exception:
                self.layer_healthy = False
                logger.warning("The channel layer is unavailable; recovering.", exc_info=True)
            self._start_receiver()
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

    def _start_receiver(self) -> None:
        self._receiver = self._spawn(self._receive_loop())

    async def _receive_loop(self) -> None:
        delay = 0.1
        try:
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
                    self._mark_off_layer()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    if self.channel_name is not None:
                        with contextlib.suppress(Exception):
                            await self._rejoin()
                    continue
                delay = 0.1
                kind = message.get("type")
                if kind == LAYER_MESSAGE_TYPE:
                    self.dispatch(LiveEvent.from_layer_message(message))
                elif kind == BATCH_MESSAGE_TYPE:
                    self.dispatch_batch(events_from_batch(message))
                elif kind == PROBE_MESSAGE_TYPE and message.get("id") == self._probe_id:
                    self._probe_sent_at = None
        except asyncio.CancelledError:
            if self._receiver is asyncio.current_task():
                self._stop()
            raise

    async def _rejoin(self) -> None:
        """Rejoin every group (the layer may have lost them), then catch up from the log."""
        await self._join_hubs()
        await self._add_groups(self.streams)
        if not self.layer_healthy:
            logger.warning("The channel layer is back; catching up from the event log.")
        self.layer_healthy = True
        self._spawn(self._resync())

    def _mark_off_layer(self) -> None:
        """The layer may have lost our groups: rejoin them all (the maintenance loop retries
        until that succeeds, even once the receiver is reading again)."""
        self.in_hubs_group = False
        for state in self.streams.values():
            state.on_layer = False

    async def _join_hubs(self) -> None:
        self.in_hubs_group = False
        async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT):
            await self.layer.group_add(HUBS_GROUP, self.channel_name)
        self.in_hubs_group = True

    async def _add_groups(self, streams: Iterable[str]) -> None:
        for stream in list(streams):
            state = self.streams.get(stream)
            if state is None:
                continue
            async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT), self._group_slots:
                await self.layer.group_add(group_name(stream), self.channel_name)
            state.on_layer = True

    async def _maintenance_loop(self) -> None:
        try:
            while True:
                await asyncio.sleep(
                    min(
                        app_settings.RESYNC_INTERVAL,
                        app_settings.LAYER_HEALTH_INTERVAL,
                        app_settings.SESSION_REVALIDATE_INTERVAL,
                    )
                )
                try:
                    await self._maintain()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.warning("Live stream maintenance failed; will retry.", exc_info=True)
        finally:
            self._stop()

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
                    await self._join_hubs()
                    await self._add_groups(self.streams)
                elif off_layer or not self.in_hubs_group:
                    if not self.in_hubs_group:
                        await self._join_hubs()
                    await self._add_groups(off_layer)
                    if not self.layer_healthy:
                        logger.warning("The channel layer is back; catching up from the event log.")
                        self.layer_healthy = True
                        self._spawn(self._resync())
            except Exception:
                logger.info("The channel layer is still unavailable.", exc_info=True)
            if now - self._probed >= app_settings.LAYER_HEALTH_INTERVAL:
                self._probed = now
                await self._probe_layer()
        due = [c for c, at in self._checks_due.items() if at <= now]
        if due and not self._revalidating:
            for connection in due:
                self._checks_due[connection] = now + app_settings.SESSION_REVALIDATE_INTERVAL
            self._revalidating = True
            self._spawn(self._revalidate(due))
        if now - self._resynced >= app_settings.RESYNC_INTERVAL:
            self._resynced = now
            await self._resync()
            await self._sweep()

    async def _probe_layer(self) -> None:
        """Send ourselves a message; if the last one never came back, the layer's connection
        is dead without having said so (a silent partition): reconnect."""
        if self._probe_sent_at is not None:
            logger.warning("The channel layer stopped delivering; reconnecting.")
            await self._reconnect_layer()
            return
        self._probe_id += 1
        self._probe_sent_at = time.monotonic()
        try:
            async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT):
                await self.layer.send(
                    self.channel_name, {"type": PROBE_MESSAGE_TYPE, "id": self._probe_id}
                )
        except Exception:
            logger.warning("The channel layer did not take a probe; reconnecting.", exc_info=True)
            await self._reconnect_layer()

    async def _reconnect_layer(self) -> None:
        self.layer_healthy = False
        self._probe_sent_at = None
        receiver = self._receiver
        if receiver is not None:
            self._receiver = None
            receiver.cancel()
            with contextlib.suppress(BaseException):
                await receiver
        if _holds_its_own_connections(self.layer):
            with contextlib.suppress(Exception):
                async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT):
                    await self.layer.flush()
            self.channel_name = None
        else:
            await _drop_pooled_connections(self.layer, self.loop)
        self._mark_off_layer()
        self._start_receiver()

    async def _revalidate(self, connections: list[Connection]) -> None:
        """End the connections whose session or token is no longer valid, a few at a time:
        the checks run on a thread, and the event loop keeps delivering between them."""
        try:
            for start in range(0, len(connections), REVALIDATE_AT_ONCE):
                chunk = [c for c in connections[start : start + REVALIDATE_AT_ONCE] if not c.closed]
                try:
                    invalid = await ainvalid_credentials(
                        {c.credential for c in chunk if c.credential is not None}
                    )
                except Exception:
                    logger.warning("Could not revalidate sessions; will retry.", exc_info=True)
                    return
                for connection in chunk:
                    if connection.credential in invalid:
                        connection.end("session_ended")
                await asyncio.sleep(REVALIDATE_PAUSE)
        finally:
            self._revalidating = False

    async def _resync(self) -> None:
        """Batched catch-up: one query for all our streams' heads, then read what we lack:
        at once for a stream off the layer, else what the previous resync already saw stored
        and the layer has still not brought (a busy process is behind, not losing events)."""
        known = {
            stream: state.head for stream, state in self.streams.items() if state.head is not None
        }
        if not known:
            return
        heads = await aread_heads(list(known))
        for stream, head in heads.items():
            state = self.streams.get(stream)
            if state is None or state.head is None:
                continue
            live = self.layer_healthy and state.on_layer and self._layer_spans_processes
            if head > state.head and (not live or state.resync_head > state.head):
                self._request_fill(stream, state)
            state.resync_head = head

    async def _sweep(self) -> None:
        """Hand each kind that has a `sweep` the names of its streams read here."""
        names: dict[str, list[str]] = {}
        for stream, state in self.streams.items():
            kind = kinds.kind_of(stream) if state.subscribers else None
            if kind is not None and kind.sweep is not None:
                names.setdefault(kind.name, []).append(split_stream(stream)[1])
        for kind_name, streams in names.items():
            kind = kinds.get(kind_name)
            if kind is None or kind.sweep is None:
                continue
            try:
                await sync_to_async(kind.sweep)(streams)
            except Exception:
                logger.warning("Sweeping %s streams failed; will retry.", kind_name, exc_info=True)

    def _stop(self) -> None:
        """The loop is shutting down (it cancelled our tasks): let go of it."""
        if self._stopped:
            return
        self._stopped = True
        for task in list(self._tasks):
            task.cancel()
        delivery.stop_serving(self.loop)
        if _hubs.get(self.loop) is self:
            del _hubs[self.loop]


def _follows(run: list[LiveEvent], head: int) -> bool:
    """Whether the events are seqs head + 1, head + 2, ... in order."""
    return all(event.seq == head + offset for offset, event in enumerate(run, 1))


def _joined(state: StreamState, task: asyncio.Future[None]) -> None:
    if state.ready is task:
        state.ready = None


def _in_process_only(layer: Any) -> bool:
    """Layers that never carry another process's events (only the log does)."""
    from channels.layers import InMemoryChannelLayer

    return isinstance(layer, InMemoryChannelLayer)


def _holds_its_own_connections(layer: Any) -> bool:
    """Layers whose flush() only drops this process's connections (never shared data)."""
    try:
        from channels_redis.pubsub import RedisPubSubChannelLayer
    except ImportError:
        return False
    return isinstance(layer, RedisPubSubChannelLayer)


async def _drop_pooled_connections(layer: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Close the connections channels-redis pools for this loop: after a silent partition any
    of them may be dead, and a receive or send given one would wait on it for good. Messages
    and groups stay in Redis; the next call opens fresh connections."""
    loop_layer = getattr(layer, "_layers", {}).get(loop)
    if loop_layer is None:
        return
    with contextlib.suppress(Exception):
        async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT):
            await loop_layer.flush()


class _SharedRead:
    __slots__ = ("result", "started")

    def __init__(self, result: asyncio.Future[History]) -> None:
        self.result = result
        self.started = False


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def first_check(interval: float) -> float:
    """A connection's first revalidation comes at a random point of the second half of the
    interval, so connections opened together are checked a few at a time."""
    return interval * random.uniform(0.5, 1.0)


async def aclose_hub() -> None:
    """Close the running event loop's hub gracefully, if it has one (`Hub.aclose`)."""
    hub = _hubs.get(asyncio.get_running_loop())
    if hub is not None:
        await hub.aclose()


def get_hub() -> Hub:
    """The hub of the running event loop (one per process in production)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None or hub._stopped:
        hub = _hubs[loop] = Hub(loop)
    return hub
