"""Batched writes: one pass per process over every connection with something queued.

A fan-out to N sockets costs one pass, not N tasks: each connection's `flush()` coroutine runs
eagerly inside the pass and only gets a task of its own if its send really waits (a slow client
under a server that applies backpressure). A pass counts the writes the server makes for it
right after. Under load the next pass starts no sooner than the previous one took, and once
passes have followed each other for a while, no sooner than COALESCE_RATIO times that (at most
MAX_COALESCE_SECONDS): events that arrive meanwhile leave together, one frame per connection,
and a sustained load spends at most a third of the process's time in passes.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine, Generator
from functools import partial
from typing import Any, Protocol

COALESCE_RATIO = 2
MAX_COALESCE_SECONDS = 0.1
WRITE_PHASE_STEPS = 2
"""Loop iterations a pass waits before it measures itself: a server that buffers writes (plain
daphne and TLS write in the reactor's next I/O phase) spends them there."""


class Writer(Protocol):
    flush_pending: bool

    def flush(self) -> Coroutine[Any, Any, None]: ...


def run_eagerly(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run `coroutine` now, until it finishes or first waits; finish it in a task if it waits."""
    try:
        waiting_on = coroutine.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_finish(_Started(coroutine, waiting_on)))


class _Started:
    """A coroutine that already ran up to its first wait, as an awaitable: it hands what the
    coroutine waits on to the awaiting task, exactly as `await` would have."""

    __slots__ = ("coroutine", "waiting_on")

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self.coroutine = coroutine
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, None, None]:
        waiting_on = self.waiting_on
        while True:
            try:
                yield waiting_on
            except BaseException as error:
                step = partial(self.coroutine.throw, error)
            else:
                step = partial(self.coroutine.send, None)
            try:
                waiting_on = step()
            except StopIteration:
                return


async def _finish(started: _Started) -> None:
    await started


class Flusher:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.ready: list[Writer] = []
        self._scheduled = False
        self._not_before = 0.0
        self._back_to_back = 0
        self._waiting: set[asyncio.Task[None]] = set()

    def schedule(self, writer: Writer) -> None:
        if writer.flush_pending:
            return
        writer.flush_pending = True
        self.ready.append(writer)
        if not self._scheduled:
            self._scheduled = True
            delay = self._not_before - self.loop.time()
            if delay > 0:
                self.loop.call_later(delay, self._start)
            else:
                self.loop.call_soon(self._start)

    def _start(self) -> None:
        self.loop.create_task(self._pass(), context=contextvars.Context())

    async def _pass(self) -> None:
        started = self.loop.time()
        ready, self.ready = self.ready, []
        for writer in ready:
            writer.flush_pending = False
            try:
                task = run_eagerly(writer.flush())
            except Exception:
                continue
            if task is not None:
                self._waiting.add(task)
                task.add_done_callback(self._waiting.discard)
        for _ in range(WRITE_PHASE_STEPS):
            await asyncio.sleep(0)
        took = self.loop.time() - started
        self._back_to_back = self._back_to_back + 1 if self.ready else 0
        ratio = COALESCE_RATIO if self._back_to_back > 1 else 1
        delay = min(took * ratio, MAX_COALESCE_SECONDS)
        self._not_before = self.loop.time() + delay
        if self.ready:
            self.loop.call_later(delay, self._start)
        else:
            self._scheduled = False
