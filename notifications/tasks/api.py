"""Starting, reading and cancelling runs."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.db import router, transaction
from django.db.models import QuerySet

from notifications.policy import Forbidden, NotAuthenticated, authorize
from notifications.streams import InvalidStream, User
from notifications.tasks import lifecycle
from notifications.tasks.models import TaskRun
from notifications.tasks.runner import RUN_KWARG, is_live_task
from notifications.tasks.sweeper import sweep

__all__ = ["acancel", "astart", "cancel", "readable_run", "runs_of", "start"]

logger = logging.getLogger("notifications")


def start(task: Any, /, *args: Any, owner: Any = None, topic: str = "", **kwargs: Any) -> TaskRun:
    """Create a queued run of `task` (made with `notifications.tasks.task`) for `owner` and
    enqueue it once the transaction commits. `topic` groups runs (a chat's id, say)."""
    if not is_live_task(task):
        raise TypeError(
            f"{task!r} is not a live task: decorate it with notifications.tasks.task, "
            "not django.tasks.task."
        )
    run = lifecycle.create_run(
        task.module_path, args, kwargs, owner=owner, topic=topic, backend=task.backend
    )
    transaction.on_commit(
        partial(_enqueue, task, str(run.pk), args, kwargs), using=router.db_for_write(TaskRun)
    )
    return run


async def astart(
    task: Any, /, *args: Any, owner: Any = None, topic: str = "", **kwargs: Any
) -> TaskRun:
    """The async form of `start`."""
    return await sync_to_async(start)(task, *args, owner=owner, topic=topic, **kwargs)


def cancel(run: TaskRun) -> TaskRun:
    """Ask `run` to stop: a queued run is cancelled at once and never starts; a running one
    ends with `task.cancelled` at its next report or check. A finished run is left alone."""
    return lifecycle.request_cancel(run)


acancel = sync_to_async(cancel)


def readable_run(user: User, run_id: object) -> TaskRun:
    """The run if `user` may read its stream; `TaskRun.DoesNotExist` otherwise, whatever the
    reason, so other users' runs stay unknown. A run whose worker died is ended first."""
    try:
        authorize(user, f"task:{run_id}")
    except (InvalidStream, NotAuthenticated, Forbidden) as error:
        raise TaskRun.DoesNotExist(run_id) from error
    run = TaskRun.objects.select_related("owner").get(pk=str(run_id))
    if run.status == TaskRun.Status.RUNNING and sweep([str(run.pk)]):
        run.refresh_from_db()
    return run


def runs_of(user: User) -> QuerySet[TaskRun]:
    """The user's own runs, newest first."""
    if not user.is_authenticated:
        return TaskRun.objects.none()
    return TaskRun.objects.filter(owner_id=user.pk)


def _enqueue(task: Any, run_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    try:
        result = task.enqueue(*args, **{**kwargs, RUN_KWARG: run_id})
    except Exception as error:
        logger.exception("Could not enqueue task run %s.", run_id)
        lifecycle.fail(run_id, "enqueue_failed", type(error).__name__, str(error))
        return
    TaskRun.objects.filter(pk=run_id, backend_result_id="").update(backend_result_id=str(result.id))
