from __future__ import annotations

import inspect
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from rest_framework import serializers

from notifications.conf import app_settings
from notifications.tasks.models import TaskRun
from notifications.tasks.runner import RUN_KWARG, is_live_task

RESERVED_ARGUMENTS = frozenset({"owner", "topic", RUN_KWARG})


class RunProgressSerializer(serializers.Serializer[TaskRun]):
    current = serializers.FloatField(source="progress_current", read_only=True, allow_null=True)
    total = serializers.FloatField(source="progress_total", read_only=True, allow_null=True)
    fraction = serializers.FloatField(read_only=True, allow_null=True)
    message = serializers.CharField(read_only=True)


class RunErrorSerializer(serializers.Serializer[TaskRun]):
    type = serializers.CharField(source="error_type", read_only=True)
    message = serializers.CharField(source="error_message", read_only=True)


class TaskRunSerializer(serializers.ModelSerializer[TaskRun]):
    """A run as the API shows it: where to watch it, how far it got, how it ended. The
    traceback of a failure is shown to staff only."""

    task = serializers.CharField(source="task_name", read_only=True)
    progress = RunProgressSerializer(source="*", read_only=True)
    error = RunErrorSerializer(source="*", read_only=True, allow_null=True)
    reason = serializers.SerializerMethodField(help_text="Why it failed, if it did.")
    stream = serializers.CharField(read_only=True)
    events_url = serializers.HyperlinkedIdentityField(
        view_name="notifications:task-events", lookup_url_kwarg="run_id"
    )
    ui_stream_url = serializers.HyperlinkedIdentityField(
        view_name="notifications:task-ui-stream", lookup_url_kwarg="run_id"
    )
    traceback = serializers.CharField(
        source="error_traceback", read_only=True, help_text="Present for staff only."
    )

    class Meta:
        model = TaskRun
        fields = [
            "id",
            "task",
            "arguments",
            "topic",
            "status",
            "progress",
            "result",
            "error",
            "reason",
            "stream",
            "events_url",
            "ui_stream_url",
            "created_at",
            "started_at",
            "finished_at",
            "cancel_requested_at",
            "traceback",
        ]
        read_only_fields = fields

    def get_reason(self, run: TaskRun) -> str | None:
        return run.failure_reason or None

    def to_representation(self, instance: TaskRun) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not instance.error_type and not instance.error_message:
            data["error"] = None
        if not self.shows_traceback():
            data.pop("traceback", None)
        return data

    def shows_traceback(self) -> bool:
        """Whether the request's user may see failures' tracebacks: staff."""
        user = getattr(self.context.get("request"), "user", None)
        return bool(getattr(user, "is_staff", False))


class StartTaskRunSerializer(serializers.Serializer[Any]):
    """`{"task": "<dotted path>", "arguments": {...}}`: one of `STARTABLE_TASKS`, with keyword
    arguments its function accepts."""

    task = serializers.ChoiceField(choices=[], help_text="The task's dotted path.")
    arguments = serializers.DictField(
        required=False, default=dict, help_text="The task's keyword arguments."
    )
    topic = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="Groups runs."
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        task = fields["task"]
        assert isinstance(task, serializers.ChoiceField)
        task.choices = app_settings.STARTABLE_TASKS
        return fields

    def validate_task(self, path: str) -> Any:
        try:
            task = import_string(path)
        except ImportError as error:
            raise ImproperlyConfigured(
                f"STARTABLE_TASKS names {path!r}, which cannot be imported: {error}"
            ) from error
        if not is_live_task(task):
            raise ImproperlyConfigured(
                f"STARTABLE_TASKS names {path!r}, which is not made with notifications.tasks.task."
            )
        return task

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        arguments: dict[str, Any] = attrs["arguments"]
        reserved = sorted(RESERVED_ARGUMENTS.intersection(arguments))
        if reserved:
            raise serializers.ValidationError(
                {"arguments": [f"These names cannot be passed: {', '.join(reserved)}."]}
            )
        try:
            inspect.signature(attrs["task"].func.live_function).bind_partial(**arguments)
        except TypeError as error:
            raise serializers.ValidationError({"arguments": [str(error)]}) from error
        return attrs
