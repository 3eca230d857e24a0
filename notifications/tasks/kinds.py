from __future__ import annotations

from notifications import kinds
from notifications.streams import User

TERMINAL_EVENTS = frozenset({"task.succeeded", "task.failed", "task.cancelled"})
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def can_read_run(user: User, name: str) -> bool:
    """A run's owner and staff."""
    from notifications.tasks.models import TaskRun

    if not user.is_authenticated or user.pk is None:
        return False
    if getattr(user, "is_staff", False):
        return TaskRun.objects.filter(pk=name).exists()
    return TaskRun.objects.filter(pk=name, owner_id=user.pk).exists()


def sweep_runs(names: list[str]) -> None:
    from notifications.tasks.sweeper import sweep

    sweep(names)


TASK = kinds.StreamKind(
    "task",
    can_read=can_read_run,
    name_pattern=UUID,
    terminal_events=TERMINAL_EVENTS,
    not_found_when_refused=True,
    sweep=sweep_runs,
    description="One run of a long task: `task:<uuid>`, readable by its owner and staff; "
    "ends with a terminal event.",
)


def register() -> None:
    kinds.register_default(TASK)
