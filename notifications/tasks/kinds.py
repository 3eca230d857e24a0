from __future__ import annotations

from notifications import kinds

TERMINAL_EVENTS = frozenset({"task.succeeded", "task.failed", "task.cancelled"})

TASK = kinds.StreamKind(
    "task",
    can_read=kinds.staff,
    terminal_events=TERMINAL_EVENTS,
    description="One run of a long task: `task:<id>`; ends with a terminal event.",
)


def register() -> None:
    kinds.register_default(TASK)
