"""The tasks the tasks benchmark runs in a real `db_worker`."""

from __future__ import annotations

import time

from notifications.tasks import progress, task, write


@task()
def timed_reports(count: int, interval: float) -> int:
    """`count` progress reports `interval` seconds apart; each message is its send time."""
    for number in range(1, count + 1):
        time.sleep(interval)
        progress(number, count, repr(time.time()))
    return count


@task()
def token_stream(count: int) -> dict[str, float]:
    """`count` chunks of output as fast as the task can write them."""
    began = time.time()
    for number in range(count):
        write(f"{number:05d} ")
    return {"began": began, "wrote": time.time() - began}
