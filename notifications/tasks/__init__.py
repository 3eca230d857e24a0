"""Long tasks with live progress: `@task` functions report progress and output, `start()`
runs them for a user, and every report is an event on the run's stream `task:<uuid>`.
Everything here loads on first use, so importing the package costs nothing."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from notifications.tasks.api import acancel, astart, cancel, start
    from notifications.tasks.reporting import (
        Cancelled,
        RunReporter,
        check_cancelled,
        current_run,
        log,
        progress,
        write,
    )
    from notifications.tasks.runner import task
    from notifications.tasks.streaming import astream_text, stream_text

__all__ = [
    "Cancelled",
    "RunReporter",
    "acancel",
    "astart",
    "astream_text",
    "cancel",
    "check_cancelled",
    "current_run",
    "log",
    "progress",
    "start",
    "stream_text",
    "task",
    "write",
]

_HOMES = {
    "Cancelled": "reporting",
    "RunReporter": "reporting",
    "check_cancelled": "reporting",
    "current_run": "reporting",
    "log": "reporting",
    "progress": "reporting",
    "write": "reporting",
    "task": "runner",
    "start": "api",
    "astart": "api",
    "cancel": "api",
    "acancel": "api",
    "stream_text": "streaming",
    "astream_text": "streaming",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'notifications.tasks' has no attribute {name!r}")
    return getattr(import_module(f"notifications.tasks.{home}"), name)
