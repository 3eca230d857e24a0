"""Tasks the tests run, in-process and in real `db_worker` processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from notifications.tasks import (
    astream_text,
    check_cancelled,
    current_run,
    log,
    progress,
    task,
    write,
)
from notifications.tasks.compat import task as django_task

ran: list[str] = []


@task()
def report_often(times: int) -> int:
    for done in range(1, times + 1):
        progress(done, times, f"{done} of {times}")
    return times


@task()
def write_chunks(count: int, size: int = 8) -> int:
    for number in range(count):
        write(f"{number:0{size}d}\n")
    return count


@task()
def wait_for_cancel(seconds: float = 30.0) -> str:
    ran.append("wait_for_cancel")
    deadline = time.monotonic() + seconds
    step = 0
    while time.monotonic() < deadline:
        step += 1
        progress(step, None, "waiting")
        time.sleep(0.01)
    return "never cancelled"


@task()
def check_until_cancelled(seconds: float = 30.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        check_cancelled()
        time.sleep(0.01)
    return "never cancelled"


@task()
def fail(message: str = "boom") -> None:
    log("about to fail")
    raise ValueError(message)


@task()
def unstorable() -> object:
    return object()


@task()
def steps(count: int, delay: float) -> dict[str, Any]:
    """Slow and steady: a line and a progress report per step."""
    for number in range(1, count + 1):
        time.sleep(delay)
        log(f"step {number}")
        progress(number, count, f"step {number}")
    return {"steps": count}


@task()
async def stream_async(count: int) -> str:
    async def tokens() -> AsyncIterator[str]:
        for number in range(count):
            await asyncio.sleep(0)
            yield f"t{number} "

    return await astream_text(tokens())


@task(takes_context=True)
def knows_its_context(context: Any) -> str:
    current_run().log(f"result {context.task_result.id}")
    return str(context.task_result.id)


@django_task
def plain() -> None:
    """A task of Django's own decorator: it reports nothing."""


@task()
def chat_reply(messages: list[dict[str, Any]]) -> None:
    words = [part["text"] for part in messages[-1]["parts"] if part["type"] == "text"]
    for word in " ".join(words).split():
        write(word.upper() + " ")
