from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.utils.module_loading import import_string


def check_task_settings(**kwargs: Any) -> list[CheckMessage]:
    """STARTABLE_TASKS and CHAT_TASK name tasks made with `notifications.tasks.task`."""
    configured = getattr(settings, "NOTIFICATIONS", {})
    if not isinstance(configured, dict):
        return []
    startable = configured.get("STARTABLE_TASKS", [])
    chat = configured.get("CHAT_TASK")
    if not isinstance(startable, list | tuple) or not all(isinstance(p, str) for p in startable):
        return [_error("NOTIFICATIONS['STARTABLE_TASKS'] must be a list of dotted paths.")]
    if chat is not None and not isinstance(chat, str):
        return [_error("NOTIFICATIONS['CHAT_TASK'] must be None or a dotted path.")]
    return [
        error
        for key, path in [*(("STARTABLE_TASKS", p) for p in startable), ("CHAT_TASK", chat)]
        if path is not None and (error := _check_task(key, path)) is not None
    ]


def _check_task(key: str, path: str) -> Error | None:
    from notifications.tasks.runner import is_live_task

    try:
        task = import_string(path)
    except ImportError as error:
        return _error(f"NOTIFICATIONS['{key}'] names {path!r}, which cannot be imported: {error}")
    if not is_live_task(task):
        return _error(
            f"NOTIFICATIONS['{key}'] names {path!r}, which is not a task made with "
            "notifications.tasks.task."
        )
    return None


def _error(message: str) -> Error:
    return Error(message, id="notifications.E008")


def register_checks() -> None:
    register(check_task_settings)
