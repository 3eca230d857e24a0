import asyncio
import time

import pytest

from notifications.flushing import Flusher, run_eagerly


async def test_a_coroutine_that_does_not_wait_runs_to_the_end_without_a_task():
    done = []

    async def work():
        done.append(1)

    assert run_eagerly(work()) is None
    assert done == [1]


async def test_a_coroutine_that_waits_is_finished_by_a_task_with_the_awaited_values():
    future = asyncio.get_running_loop().create_future()
    seen = []

    async def work():
        seen.append("start")
        seen.append(await future)
        await asyncio.sleep(0)
        seen.append(await asyncio.sleep(0.01, "slept"))

    task = run_eagerly(work())
    assert seen == ["start"] and task is not None
    future.set_result("value")
    await task
    assert seen == ["start", "value", "slept"]


async def test_errors_and_cancellation_reach_the_resumed_coroutine():
    future = asyncio.get_running_loop().create_future()
    cleaned = []

    async def fails():
        await future
        raise ValueError("boom")

    task = run_eagerly(fails())
    future.set_result(None)
    with pytest.raises(ValueError, match="boom"):
        await task

    async def waits_forever():
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            cleaned.append(True)

    task = run_eagerly(waits_forever())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == [True]


class Writer:
    def __init__(self, cost=0.0, gate=None):
        self.flush_pending = False
        self.flushes = []
        self.cost = cost
        self.gate = gate

    async def flush(self):
        self.flushes.append(time.monotonic())
        if self.cost:
            time.sleep(self.cost)  # noqa: ASYNC251 - a flush that costs CPU time
        if self.gate is not None:
            await self.gate


async def test_one_pass_flushes_each_ready_writer_once():
    flusher = Flusher(asyncio.get_running_loop())
    writers = [Writer() for _ in range(3)]
    for writer in writers + writers:
        flusher.schedule(writer)
    await asyncio.sleep(0.01)
    assert [len(w.flushes) for w in writers] == [1, 1, 1]


async def test_a_waiting_writer_does_not_hold_up_the_others():
    gate = asyncio.get_running_loop().create_future()
    flusher = Flusher(asyncio.get_running_loop())
    slow, fast = Writer(gate=gate), Writer()
    flusher.schedule(slow)
    flusher.schedule(fast)
    await asyncio.sleep(0.01)
    assert (len(slow.flushes), len(fast.flushes)) == (1, 1)
    gate.set_result(None)
    await asyncio.sleep(0)


async def test_under_load_the_next_pass_waits_as_long_as_the_last_one_took():
    flusher = Flusher(asyncio.get_running_loop())
    busy = Writer(cost=0.03)
    flusher.schedule(busy)
    await asyncio.sleep(0.001)
    ended = time.monotonic()
    flusher.schedule(busy)
    await asyncio.sleep(0.1)
    assert len(busy.flushes) == 2
    assert busy.flushes[1] - ended >= 0.025


async def test_under_sustained_load_passes_wait_twice_as_long_as_they_take():
    flusher = Flusher(asyncio.get_running_loop())

    class AlwaysBusy(Writer):
        ended: list[float] = []

        async def flush(self):
            await super().flush()
            self.ended.append(time.monotonic())
            if len(self.flushes) < 3:
                flusher.schedule(self)

    busy = AlwaysBusy(cost=0.04)
    flusher.schedule(busy)
    await asyncio.sleep(0.5)
    assert len(busy.flushes) == 3
    took = [end - start for start, end in zip(busy.flushes, busy.ended, strict=True)]
    first_wait = busy.flushes[1] - busy.ended[0]
    sustained_wait = busy.flushes[2] - busy.ended[1]
    assert first_wait < 1.5 * took[0]
    assert sustained_wait >= 1.9 * took[1]


async def test_a_pass_counts_the_writes_the_server_makes_right_after_it():
    """A server that buffers writes (plain daphne, or TLS) writes what a pass queued in the
    loop's next I/O phase: that is part of the pass's cost, so the events arriving meanwhile
    wait and share the next frame."""
    loop = asyncio.get_running_loop()

    class BufferingWriter(Writer):
        async def flush(self):
            await super().flush()
            loop.call_soon(time.sleep, 0.03)

    flusher = Flusher(loop)
    writer = BufferingWriter()
    flusher.schedule(writer)
    await asyncio.sleep(0)
    started = time.monotonic()
    await asyncio.sleep(0.035)
    flusher.schedule(writer)
    await asyncio.sleep(0.1)
    assert len(writer.flushes) == 2
    assert writer.flushes[1] - started >= 0.05
