"""The live fast path: hand events to the channel layer without ever failing the caller."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from concurrent.futures import Future
from typing import Any

from asgiref.sync import SyncToAsync
from channels.layers import get_channel_layer

from notifications.conf import app_settings
from notifications.streams import group_name
from notifications.wire import LiveEvent

logger = logging.getLogger("notifications")

_pending: set[asyncio.Task[None] | Future[None]] = set()


def get_layer() -> Any:
    return get_channel_layer(app_settings.CHANNEL_LAYER)


async def asend(event: LiveEvent) -> None:
    """Send one event to its stream's group; a failure is logged, the log still has it."""
    layer = get_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group_name(event.stream), event.as_layer_message())
    except Exception:
        logger.warning(
            "Live send of %s #%s failed; readers will recover it from the event log.",
            event.stream,
            event.seq,
            exc_info=True,
        )


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


def _caller_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    loop: asyncio.AbstractEventLoop | None = getattr(
        SyncToAsync.threadlocal, "main_event_loop", None
    )
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop


class BackgroundSender:
    """One thread with its own event loop, for processes that publish outside any loop
    (workers, management commands, WSGI): events leave in order over one connection pool."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[LiveEvent] | None = None
        self._pid = 0

    def submit(self, event: LiveEvent) -> None:
        loop, queue = self._start()
        loop.call_soon_threadsafe(queue.put_nowait, event)

    def flush(self, timeout: float = 2.0) -> None:
        if self._loop is None or self._queue is None or self._pid != os.getpid():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._queue.join(), self._loop).result(timeout)
        except Exception:
            logger.warning("Some live sends were still pending at exit.")

    def _start(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Queue[LiveEvent]]:
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

    async def _drain(self, queue: asyncio.Queue[LiveEvent]) -> None:
        while True:
            event = await queue.get()
            try:
                await asend(event)
            finally:
                queue.task_done()


_background = BackgroundSender()
atexit.register(_background.flush)
