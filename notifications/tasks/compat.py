"""Django's Tasks API, wherever it comes from: `django.tasks` on Django 6, the `django_tasks`
backport on 5.2."""

from __future__ import annotations

from importlib.util import find_spec

from django.core.exceptions import ImproperlyConfigured

if find_spec("django.tasks") is not None:
    API = "django.tasks"
    from django.tasks import Task, TaskContext, TaskResult, TaskResultStatus, task, task_backends
elif find_spec("django_tasks") is not None:
    API = "django_tasks"
    from django_tasks import (  # type: ignore[no-redef,assignment,attr-defined,import-not-found,unused-ignore]
        TaskContext,
        TaskResult,
        TaskResultStatus,
        task,
        task_backends,
    )
    from django_tasks.base import (  # type: ignore[no-redef,assignment,import-not-found,unused-ignore]
        Task,
    )
else:  # pragma: no cover - depends on what is installed
    raise ImproperlyConfigured(
        "Long tasks need Django's Tasks API: Django 6, or `pip install django-tasks` on 5.2."
    )

IMMEDIATE_BACKEND = f"{API}.backends.immediate.ImmediateBackend"

__all__ = [
    "IMMEDIATE_BACKEND",
    "Task",
    "TaskContext",
    "TaskResult",
    "TaskResultStatus",
    "task",
    "task_backends",
]
