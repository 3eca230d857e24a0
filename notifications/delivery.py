"""The live fast path: hand events to the channel layer without ever failing the caller."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import weakref
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any

from channels.layers import get_channel_layer

from notifications.conf import app_settings
from notifications.streams import HUBS_GROUP, group_name
from notifications.wire import LiveEvent, batch_message

logger = logging.getLogger("notifications")

MAX_TARGETED_STREAMS = 4
"""A batch over more streams than this travels to every process's hub, in one message per
MAX_BATCH_EVENTS, instead of one message per stream."""
MAX_BATCH_EVENTS = 1000

_pending: set[asyncio.Task[bool] | Future[bool]] = set()
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
    loop = _caller_loop()
    if loop is None:
        _background.submit_many(events)
        return
    _start_on(loop, asend_many(events))


def send(event: LiveEvent) -> None:
    """Send from sync code without waiting: on the caller's event loop when there is one."""
    loop = _caller_loop()
    if loop is None:
        _background.submit(event)
        return
    _start_on(loop, asend(event))


def _start_on(loop: asyncio.AbstractEventLoop, sending: Coroutine[Any, Any, bool]) -> None:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        task = loop.create_task(sending)
        _pending.add(task)
        task.add_done_callback(_pending.discard)
    else:
        future = asyncio.run_coroutine_threadsafe(sending, loop)
        _pending.add(future)
        future.add_done_callback(_pending.discard)


def send_and_wait(event: LiveEvent) -> bool:
    """Send from sync code (not on an event loop's thread) and wait until the layer took it,
    so that whatever the caller sends next arrives after it."""
    loop = _caller_loop()
    timeout = app_settings.LAYER_SEND_TIMEOUT + 1
    if loop is None:
        return _background.submit(event).result(timeout)
    return asyncio.run_coroutine_threadsafe(asend(event), loop).result(timeout)


def _caller_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    pid = os.getpid()
    loops = [loop for loop, owner in list(_serving.items()) if owner == pid]
    for loop in reversed(loops):
        if loop.is_running() and not loop.is_closed():
            return loop
    return None


class BackgroundSender:
    """One thread with its own event loop, for processes that publish outside any loop
    (workers, management commands, WSGI): events leave in order over one connection pool,
    everything queued meanwhile together in one batch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[list[LiveEvent], Future[bool]]] | None = None
        self._pid = 0

    def submit(self, event: LiveEvent) -> Future[bool]:
        return self.submit_many([event])

    def submit_many(self, events: list[LiveEvent]) -> Future[bool]:
        loop, queue = self._start()
        done: Future[bool] = Future()
        loop.call_soon_threadsafe(queue.put_nowait, (events, done))
        return done

    def flush(self, timeout: float = 2.0) -> None:
        if self._loop is None or self._queue is None or self._pid != os.getpid():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._queue.join(), self._loop).result(timeout)
        except Exception:
            logger.warning("Some live sends were still pending at exit.")

    def _start(
        self,
    ) -> tuple[asyncio.AbstractEventLoop, asyncio.Queue[tuple[list[LiveEvent], Future[bool]]]]:
        with self._lock:
            if self._loop is None or self._queue is None or self._pid != os.getpid():
                ready = threading.Event()
                self._pid = os.getpid()
                thread = threading.Thread(
                    target=self._run, args=(ready,), name="notifications-sender", daemon=True
                )
                thread.start()
                ready.wait()
            assert self._loop is not None and self._queue is not None
            return self._loop, self._queue

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._queue = asyncio.Queue()
        ready.set()
        loop.run_until_complete(self._drain(self._queue))

    async def _drain(self, queue: asyncio.Queue[tuple[list[LiveEvent], Future[bool]]]) -> None:
        while True:
            batch = [await queue.get()]
            count = len(batch[0][0])
            while count < MAX_BATCH_EVENTS and not queue.empty():
                batch.append(queue.get_nowait())
                count += len(batch[-1][0])
            try:
                sent = await asend_many([event for events, _ in batch for event in events])
                for _, done in batch:
                    done.set_result(sent)
            finally:
                for _ in batch:
                    queue.task_done()


_background = BackgroundSender()
atexit.register(_background.flush)
