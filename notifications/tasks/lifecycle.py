"""Every change of a run: its row and its stream's event change in one transaction, and only
from the state that allows it, so the terminal event is always the last one."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications.api import publish
from notifications.tasks.models import TaskRun

logger = logging.getLogger("notifications")

Status = TaskRun.Status


@dataclass(frozen=True, slots=True)
class Progress:
    current: float
    total: float | None
    message: str | None


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the run's row said when a batch was recorded."""

    running: bool
    cancel_requested: bool


def create_run(
    task_name: str,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    *,
    owner: Any = None,
    topic: str = "",
    backend: str = "",
) -> TaskRun:
    """A queued run, and its stream's first event."""
    with transaction.atomic():
        run = TaskRun.objects.create(
            owner=owner if owner is not None and owner.is_authenticated else None,
            task_name=task_name,
            arguments=summarize(args, kwargs),
            topic=topic,
            backend=backend,
        )
        publish(run.stream, "task.queued", run.state())
    return run


def summarize(args: Sequence[Any], kwargs: dict[str, Any], limit: int = 500) -> str:
    parts = [repr(value) for value in args] + [f"{key}={value!r}" for key, value in kwargs.items()]
    text = ", ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def begin(run_id: str, result_id: str = "", backend: str = "") -> TaskRun | None:
    """Mark a queued run running; None if it must not run (cancelled, finished, deleted)."""
    with transaction.atomic():
        run = TaskRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            logger.warning("Task run %s no longer exists; not running it.", run_id)
            return None
        if run.status != Status.QUEUED:
            return None
        now = timezone.now()
        if run.cancel_requested_at is not None:
            _end(run, Status.CANCELLED, now)
            return None
        run.status = Status.RUNNING
        run.started_at = run.heartbeat_at = now
        run.backend_result_id = result_id or run.backend_result_id
        run.backend = backend or run.backend
        run.save(
            update_fields=["status", "started_at", "heartbeat_at", "backend_result_id", "backend"]
        )
        publish(run.stream, "task.started", {"status": run.status, "started_at": now.isoformat()})
        return run


def record(run_id: str, progress: Progress | None, texts: Sequence[str]) -> Recorded:
    """Store a batch of a running run's progress and output, and beat its heart."""
    with transaction.atomic():
        run = TaskRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != Status.RUNNING:
            return Recorded(running=False, cancel_requested=True)
        run.heartbeat_at = timezone.now()
        fields = ["heartbeat_at"]
        if progress is not None:
            _apply(run, progress)
            fields += ["progress_current", "progress_total", "message"]
        run.save(update_fields=fields)
        if progress is not None:
            publish(run.stream, "task.progress", run.progress())
        for text in texts:
            publish(run.stream, "task.output", {"text": text})
        return Recorded(running=True, cancel_requested=run.cancel_requested_at is not None)


def finish(
    run_id: str,
    status: str,
    *,
    progress: Progress | None = None,
    texts: Sequence[str] = (),
    result: Any = None,
    error: BaseException | None = None,
    reason: str = "",
    traceback: str = "",
) -> bool:
    """End a running run with its last progress and output, then its terminal event."""
    with transaction.atomic():
        run = TaskRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != Status.RUNNING:
            logger.warning("Task run %s had already ended; its outcome is dropped.", run_id)
            return False
        if progress is not None:
            _apply(run, progress)
        for text in texts:
            publish(run.stream, "task.output", {"text": text})
        if status == Status.SUCCEEDED:
            run.result = result
        if error is not None:
            describe_failure(run, error, reason or "exception", traceback)
        _end(run, status, timezone.now())
        return True


def request_cancel(run: TaskRun) -> TaskRun:
    """Ask a run to stop: a queued run ends at once; a running one at its next report."""
    with transaction.atomic():
        current = TaskRun.objects.select_for_update().get(pk=run.pk)
        if current.is_finished or current.cancel_requested_at is not None:
            return current
        now = timezone.now()
        current.cancel_requested_at = now
        if current.status == Status.QUEUED:
            _end(current, Status.CANCELLED, now)
            return current
        current.save(update_fields=["cancel_requested_at"])
        publish(current.stream, "task.cancelling", {"status": current.status})
        return current


def fail(
    run_id: str, reason: str, error_type: str, message: str, *, only_stale: Any = None
) -> bool:
    """End a queued or running run as failed without its task's help (`only_stale`: only if
    its last heartbeat is older than that time)."""
    with transaction.atomic():
        runs = TaskRun.objects.select_for_update().filter(
            pk=run_id, status__in=[Status.QUEUED, Status.RUNNING]
        )
        if only_stale is not None:
            runs = runs.filter(status=Status.RUNNING, heartbeat_at__lt=only_stale)
        run = runs.first()
        if run is None:
            return False
        run.failure_reason = reason
        run.error_type, run.error_message = error_type, message
        _end(run, Status.FAILED, timezone.now())
        return True


def describe_failure(run: TaskRun, error: BaseException, reason: str, traceback: str) -> None:
    run.failure_reason = reason
    run.error_type = f"{type(error).__module__}.{type(error).__qualname__}".removeprefix(
        "builtins."
    )
    run.error_message = str(error)[:10_000]
    run.error_traceback = traceback


def _apply(run: TaskRun, progress: Progress) -> None:
    run.progress_current = progress.current
    run.progress_total = progress.total
    if progress.message is not None:
        run.message = progress.message[:500]


def _end(run: TaskRun, status: str, now: Any) -> None:
    run.status = status
    run.finished_at = now
    run.save()
    publish(run.stream, f"task.{status}", run.state())
