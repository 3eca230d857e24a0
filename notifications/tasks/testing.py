"""Helpers for tests of your own tasks: run one in the test's process, as a worker would, and
look at what it reported."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import override_settings

from notifications.log import Event
from notifications.tasks import compat
from notifications.tasks.api import start
from notifications.tasks.models import TaskRun

__all__ = ["run_task", "task_events", "task_output"]

INLINE_BACKEND = "notifications-inline"


def run_task(task: Any, /, *args: Any, owner: Any = None, **kwargs: Any) -> TaskRun:
    """Run `task` (made with `notifications.tasks.task`) here and now, through Django's
    immediate backend, and return its run once finished:

        run = run_task(export, 42, owner=alice)
        assert run.status == "succeeded" and "row 1" in task_output(run)
    """
    backends = {
        **getattr(settings, "TASKS", {}),
        INLINE_BACKEND: {"BACKEND": compat.IMMEDIATE_BACKEND},
    }
    with override_settings(TASKS=backends):
        run = start(task.using(backend=INLINE_BACKEND), *args, owner=owner, **kwargs)
    run.refresh_from_db()
    return run


def task_events(run: TaskRun) -> list[tuple[str, Any]]:
    """The run's events as `(type, data)`, oldest first."""
    events = Event.objects.filter(stream=run.stream).order_by("seq")
    return [(event.type, event.data) for event in events]


def task_output(run: TaskRun) -> str:
    """Everything the run wrote, in order."""
    return "".join(data["text"] for type, data in task_events(run) if type == "task.output")
