from __future__ import annotations

from importlib.util import find_spec
from typing import Any

import pytest

TASKS_API = "django.tasks" if find_spec("django.tasks") else "django_tasks"


def backend(name: str) -> dict[str, Any]:
    classes = {"immediate": "ImmediateBackend", "dummy": "DummyBackend"}
    return {"default": {"BACKEND": f"{TASKS_API}.backends.{name}.{classes[name]}"}}


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    """Tasks run inside `start()`'s commit, in this process."""
    settings.TASKS = backend("immediate")


@pytest.fixture
def queued_tasks(settings: Any) -> None:
    """Tasks are enqueued and never run."""
    settings.TASKS = backend("dummy")
