"""The live fast path: hand events to the channel layer without ever failing the caller."""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import logging
import os
import threading
import weakref
from collections import deque
from concurrent.futures import Future
from typing import Any

from channels.layers import get_channel_layer

from notifications.conf import app_settings
from notifications.streams import HUBS_GROUP, group_name
from notifications.wire import LiveEvent, batch_message

logger = logging.getLogger("notifications")

MAX_TARGETED_STREAMS = 4
"""A batch over more streams than this travels to every process's hub, in messages of at most
MAX_BATCH_EVENTS, instead of one message per stream."""
MAX_BATCH_EVENTS = 1000

_pending: set[asyncio.Task[None]] = set()
_serving: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()


def get_layer() -> Any:
    return get_channel_layer(app_settings.CHANNEL_LAYER)


def serve_on(loop: asyncio.AbstractEventLoop) -> None:
    """The process serves connections on `loop` (its hub runs there): sync code in this
    process's threads sends through it instead of a thread of its own."""
    _serving[loop] = os.getpid()


def stop_serving(loop: asyncio.AbstractEventLoop) -> None:
    _serving.pop(loop, None)


async def asend(event: LiveEvent) -> bool:
    """Send one event to its stream's group; a failure is logged (the log still has the
    event), and so is a send the layer does not take within LAYER_SEND_TIMEOUT."""
    layer = get_layer()
    if layer is None:
        return False
    try:
        async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT):
            await layer.group_send(group_name(event.stream), event.as_layer_message())
    except Exception:
        logger.warning(
            "Live send of %s #%s failed; readers will recover it from the event log.",
            event.stream,
            event.seq,
            exc_info=True,
        )
        return False
    return True


async def asend_many(events: list[LiveEvent]) -> bool:
    """Send a batch: one message per stream for a few streams, else a bounded number of
    messages to every process, each of which keeps the streams it serves."""
    if len(events) == 1:
        return await asend(events[0])
    layer = get_layer()
    if layer is None or not events:
        return False
    by_stream: dict[str, list[LiveEvent]] = {}
    for event in events:
        by_stream.setdefault(event.stream, []).append(event)
    if len(by_stream) > MAX_TARGETED_STREAMS:
        return await _send_chunks(layer, HUBS_GROUP, events)
    sent = await asyncio.gather(
        *(_send_chunks(layer, group_name(stream), part) for stream, part in by_stream.items())
    )
    return all(sent)


async def _send_chunks(layer: Any, group: str, events: list[LiveEvent]) -> bool:
    for start in range(0, len(events), MAX_BATCH_EVENTS):
        chunk = events[start : start + MAX_BATCH_EVENTS]
        try:
            async with asyncio.timeout(app_settings.LAYER_SEND_TIMEOUT):
                await layer.group_send(group, batch_message(chunk))
        except Exception:
            logger.warning(
                "Live send of %s events (%s #%s to %s #%s) failed; readers will recover them "
                "from the event log.",
                len(events) - start,
                chunk[0].stream,
                chunk[0].seq,
                events[-1].stream,
                events[-1].seq,
                exc_info=True,
            )
            return False
    return True


def send_many(events: list[LiveEvent]) -> None:
    """`send` for a batch of events."""
    _sender().submit_many(events)


def send(event: LiveEvent) -> None:
    """Send without waiting, from sync or async code. Events leave in the order they were
    given, and what queued meanwhile leaves together: on the loop this process serves
    connections on, or else on a background thread that is drained at exit."""
    _sender().submit_many([event])


def send_and_wait(event: LiveEvent) -> bool:
    """Send from sync code (not on an event loop's thread) and wait until the layer took it,
    so that whatever the caller sends next arrives after it."""
    return _sender().submit_many([event]).result(app_settings.LAYER_SEND_TIMEOUT + 1)


def flush(timeout: float | None = None) -> None:
    """Wait until what this process queued so far has left, or failed to (not on the loop
    it serves on)."""
    sender = _sender()
    asyncio.run_coroutine_threadsafe(sender.wait(), sender.loop).result(timeout)


async def aflush() -> None:
    """The async form of `flush`."""
    sender = _sender()
    if sender.loop is _running_loop():
        await sender.wait()
    else:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(sender.wait(), sender.loop))


def _sender() -> OrderedSender:
    loop = _serving_loop()
    if loop is None:
        return _background.start()
    with _senders_lock:
        sender = _senders.get(loop)
        if sender is None:
            sender = _senders[loop] = OrderedSender(loop)
        return sender


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _serving_loop() -> asyncio.AbstractEventLoop | None:
    """The caller's loop if this process serves connections on it, else the loop it serves
    on, if any (so that a process-local layer is only ever used on that loop)."""
    pid = os.getpid()
    running = _running_loop()
    if running is not None and _serving.get(running) == pid:
        return running
    loops = [loop for loop, owner in list(_serving.items()) if owner == pid]
    for loop in reversed(loops):
        if loop.is_running() and not loop.is_closed():
            return loop
    return None


class OrderedSender:
    """Sends on one event loop, in the order events were submitted (from any thread);
    everything queued while a send is under way leaves together in the next one."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._queue: deque[tuple[list[LiveEvent], Future[bool]]] = deque()
        self._draining: asyncio.Task[None] | None = None

    def submit_many(self, events: list[LiveEvent]) -> Future[bool]:
        done: Future[bool] = Future()
        if _running_loop() is self.loop:
            self._put(events, done)
        else:
            self.loop.call_soon_threadsafe(self._put, events, done)
        return done

    async def wait(self) -> None:
        while self._draining is not None:
            await asyncio.wait([self._draining])

    def _put(self, events: list[LiveEvent], done: Future[bool]) -> None:
        self._queue.append((events, done))
        if self._draining is None:
            self._draining = self.loop.create_task(self._drain(), context=contextvars.Context())
            _pending.add(self._draining)
            self._draining.add_done_callback(_pending.discard)

    async def _drain(self) -> None:
        queue = self._queue
        batch: list[tuple[list[LiveEvent], Future[bool]]] = []
        try:
            while queue:
                batch = [queue.popleft()]
                count = len(batch[0][0])
                while queue and count < MAX_BATCH_EVENTS:
                    batch.append(queue.popleft())
                    count += len(batch[-1][0])
                sent = await asend_many([event for events, _ in batch for event in events])
                for _, done in batch:
                    done.set_result(sent)
                batch = []
        finally:
            for _, done in [*batch, *queue]:
                if not done.done():
                    done.set_result(False)
            self._draining = None


class BackgroundSender:
    """One thread with its own event loop, for processes that publish outside any loop they
    serve on (workers, scripts, management commands, WSGI)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sender: OrderedSender | None = None
        self._pid = 0

    def flush(self, timeout: float = 2.0) -> None:
        sender = self._sender
        if sender is None or self._pid != os.getpid():
            return
        try:
            asyncio.run_coroutine_threadsafe(sender.wait(), sender.loop).result(timeout)
        except Exception:
            logger.warning("Some live sends were still pending at exit.")

    def start(self) -> OrderedSender:
        with self._lock:
            if self._sender is None or self._pid != os.getpid():
                ready = threading.Event()
                self._pid = os.getpid()
                thread = threading.Thread(
                    target=self._run, args=(ready,), name="notifications-sender", daemon=True
                )
                thread.start()
                ready.wait()
            assert self._sender is not None
            return self._sender

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._sender = OrderedSender(loop)
        ready.set()
        loop.run_forever()


_senders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OrderedSender] = (
    weakref.WeakKeyDictionary()
)
_senders_lock = threading.Lock()
_background = BackgroundSender()
atexit.register(_background.flush)
