"""The live fast path: hand events to the channel layer without ever failing the caller."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import weakref
from concurrent.futures import Future
from typing import Any

from channels.layers import get_channel_layer

from notifications.conf import app_settings
from notifications.streams import group_name
from notifications.wire import LiveEvent

logger = logging.getLogger("notifications")

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


def send(event: LiveEvent) -> None:
    """Send from sync code without waiting: on the caller's event loop when there is one."""
    loop = _caller_loop()
    if loop is None:
        _background.submit(event)
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        task = loop.create_task(asend(event))
        _pending.add(task)
        task.add_done_callback(_pending.discard)
    else:
        future = asyncio.run_coroutine_threadsafe(asend(event), loop)
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
    (workers, management commands, WSGI): events leave in order over one connection pool."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[LiveEvent, Future[bool]]] | None = None
        self._pid = 0

    def submit(self, event: LiveEvent) -> Future[bool]:
        loop, queue = self._start()
        done: Future[bool] = Future()
        loop.call_soon_threadsafe(queue.put_nowait, (event, done))
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
    ) -> tuple[asyncio.AbstractEventLoop, asyncio.Queue[tuple[LiveEvent, Future[bool]]]]:
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

    async def _drain(self, queue: asyncio.Queue[tuple[LiveEvent, Future[bool]]]) -> None:
        while True:
            event, done = await queue.get()
            try:
                done.set_result(await asend(event))
            finally:
                queue.task_done()


_background = BackgroundSender()
atexit.register(_background.flush)
