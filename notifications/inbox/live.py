"""Inbox changes as events on each recipient's `user:<id>` stream, each carrying the recipient's
new unread count, so every tab shows the same badge without asking."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import apps
from django.db.models import Count

CREATED = "notification.created"
READ = "notification.read"
UNREAD = "notification.unread"
DELETED = "notification.deleted"
READ_ALL = "notification.read_all"
UNREAD_ALL = "notification.unread_all"
DELETED_ALL = "notification.deleted_all"
RESTORED_ALL = "notification.restored_all"


def stream_of(recipient_id: object) -> str:
    return f"user:{recipient_id}"


def unread_counts(model: Any, recipient_ids: Iterable[Any]) -> dict[Any, int]:
    """Each recipient's unread count, in one query."""
    ids = list(recipient_ids)
    rows = (
        model.objects.filter(recipient_id__in=ids)
        .unread()
        .order_by()
        .values_list("recipient_id")
        .annotate(count=Count("pk"))
    )
    counts = dict.fromkeys(ids, 0)
    counts.update(dict(rows))
    return counts


def push_counts(model: Any, recipient_ids: Sequence[Any], event: str) -> None:
    """`event` with the new unread count to each recipient whose notifications changed."""
    if not recipient_ids or not _live():
        return
    from notifications.api import publish_many

    counts = unread_counts(model, recipient_ids)
    publish_many(
        [(stream_of(rid), event, {"unread_count": counts[rid]}) for rid in recipient_ids],
        using=_alias(model),
    )


def push_change(notification: Any, event: str, pk: Any = None) -> None:
    """`event` about one notification (`pk`: its id, once deleted) to its recipient."""
    if not _live():
        return
    from notifications.api import publish
    from notifications.inbox.slugs import id2slug

    pk = notification.pk if pk is None else pk
    rid = notification.recipient_id
    count = unread_counts(type(notification), [rid])[rid]
    publish(
        stream_of(rid),
        event,
        {"id": pk, "slug": id2slug(pk), "unread_count": count},
        using=_alias(type(notification)),
    )


def push_created(model: Any, notifications: Sequence[Any], *, alike: bool = False) -> None:
    """A `created` event with each new notification and its recipient's unread count.
    `alike`: they differ only in their id and recipient (one send to many), so the JSON of
    the first is the others' too."""
    if not notifications or not _live():
        return
    from notifications.api import publish_many
    from notifications.inbox.helpers import as_dict
    from notifications.inbox.slugs import id2slug

    counts = unread_counts(model, {n.recipient_id for n in notifications})
    shared = as_dict(notifications[0]) if alike else None

    def item(notification: Any) -> dict[str, Any]:
        if shared is None:
            return as_dict(notification)
        pk = notification.pk
        return {**shared, "id": pk, "slug": id2slug(pk), "recipient": notification.recipient_id}

    publish_many(
        [
            (
                stream_of(n.recipient_id),
                CREATED,
                {"notification": item(n), "unread_count": counts[n.recipient_id]},
            )
            for n in notifications
        ],
        using=_alias(model),
    )


def _live() -> bool:
    """The event log is there: this app is installed (a site that only borrows the swappable
    model's base class under its own app has no streams)."""
    return apps.is_installed("notifications")


def _alias(model: Any) -> str:
    from django.db import router

    return router.db_for_write(model)
