"""Ending the runs whose worker died (SIGKILL, OOM, a lost machine): a running run whose
heartbeat is older than TASK_WORKER_TIMEOUT fails with reason `worker_lost`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.utils import timezone

from notifications.conf import app_settings
from notifications.tasks import lifecycle
from notifications.tasks.models import TaskRun

BATCH = 1000


def sweep(run_ids: Iterable[str] | None = None) -> int:
    """End the stale runs (among `run_ids`, or all); how many were ended."""
    timeout = app_settings.TASK_WORKER_TIMEOUT
    cutoff = timezone.now() - timedelta(seconds=timeout)
    stale = TaskRun.objects.filter(status=TaskRun.Status.RUNNING, heartbeat_at__lt=cutoff)
    if run_ids is not None:
        stale = stale.filter(pk__in=list(run_ids))
    message = f"The worker running this task stopped (no heartbeat for {timeout:g} s)."
    return sum(
        lifecycle.fail(str(pk), "worker_lost", "WorkerLost", message, only_stale=cutoff)
        for pk in stale.values_list("pk", flat=True)[:BATCH]
    )
