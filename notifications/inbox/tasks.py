"""Sends too large to make while an admin page waits: a task with progress per batch."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from notifications.inbox.api import notify
from notifications.tasks.reporting import progress
from notifications.tasks.runner import task


def audience(users: list[Any] | None = None, groups: list[Any] | None = None) -> Any:
    """The users to notify: those with the given ids, and the members of the given groups."""
    model = get_user_model()
    chosen = model.objects.none()
    if users:
        chosen = chosen | model.objects.filter(pk__in=users)
    if groups:
        chosen = chosen | model.objects.filter(groups__in=Group.objects.filter(pk__in=groups))
    return model.objects.filter(pk__in=chosen.values("pk"))


@task()
def send_notification(
    verb: str,
    users: list[Any] | None = None,
    groups: list[Any] | None = None,
    level: str = "info",
    description: str = "",
    url: str = "",
    actor: Any = None,
    broadcast: int | None = None,
) -> dict[str, int]:
    """Notify the audience, reporting how many it reached after each batch, on the run and on
    the `Broadcast` (by id) that records the send."""
    from notifications.inbox.models import Broadcast

    recipients = audience(users, groups)
    total = recipients.count()
    sender = get_user_model().objects.filter(pk=actor).first() if actor is not None else None
    record = Broadcast.objects.filter(pk=broadcast) if broadcast is not None else None
    reached = 0

    def after_batch(count: int) -> None:
        nonlocal reached
        reached += count
        if record is not None:
            record.update(reached=reached)
        progress(reached, total, f"{reached} of {total} notified")

    notify(
        recipients,
        verb,
        actor=sender,
        level=level,
        description=description or None,
        url=url or None,
        on_batch=after_batch,
    )
    if record is not None:
        record.update(reached=reached)
    return {"recipients": reached}
