from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class TaskRun(models.Model):
    """One run of a long task; its events are on the stream `task:<id>`."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="task_runs",
    )
    task_name = models.CharField(max_length=255, help_text="The task's dotted path.")
    arguments = models.CharField(max_length=500, blank=True, help_text="A summary, for people.")
    topic = models.CharField(
        max_length=200, blank=True, db_index=True, help_text="Groups runs, e.g. a chat's id."
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress_current = models.FloatField(null=True, blank=True)
    progress_total = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    result = models.JSONField(null=True, blank=True)
    error_type = models.CharField(max_length=255, blank=True)
    error_message = models.TextField(blank=True)
    error_traceback = models.TextField(blank=True, help_text="Shown to staff only.")
    failure_reason = models.CharField(
        max_length=32, blank=True, help_text="exception, worker_lost, enqueue_failed, interrupted"
    )
    backend = models.CharField(max_length=100, blank=True)
    backend_result_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "notifications"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="notif_taskrun_owner"),
            models.Index(fields=["status", "heartbeat_at"], name="notif_taskrun_alive"),
        ]

    def __str__(self) -> str:
        return f"{self.task_label} ({self.get_status_display()})"

    @property
    def stream(self) -> str:
        return f"task:{self.pk}"

    @property
    def task_label(self) -> str:
        return self.task_name.rpartition(".")[2].replace("_", " ")

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def fraction(self) -> float | None:
        if self.progress_current is None or not self.progress_total:
            return None
        return max(0.0, min(1.0, self.progress_current / self.progress_total))

    def progress(self) -> dict[str, Any]:
        """The progress as events carry it."""
        return {
            "current": self.progress_current,
            "total": self.progress_total,
            "fraction": self.fraction,
            "message": self.message,
        }

    def state(self) -> dict[str, Any]:
        """What a watcher needs to draw the run: its status, progress and outcome."""
        state: dict[str, Any] = {
            "id": str(self.pk),
            "task": self.task_name,
            "status": self.status,
            "progress": self.progress(),
        }
        if self.status == self.Status.SUCCEEDED:
            state["result"] = self.result
        if self.status == self.Status.FAILED:
            state["reason"] = self.failure_reason
            state["error"] = {"type": self.error_type, "message": self.error_message}
        return state
