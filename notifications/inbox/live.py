"""Inbox changes as events on each recipient's `user:<id>` stream, each carrying the recipient's
new unread count, so every tab shows the same badge without asking."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import apps
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

from notifications.inbox.sql import values_of
from notifications.wire import Encoded, dumps, storable

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
    """Each recipient's unread count, in one query on the database the changes went to:
    counted recipient by recipient in the (recipient, unread) index, whatever the planner's
    statistics say about the table."""
    from django.db import connections

    ids = list(recipient_ids)
    alias = _alias(model)
    key = model._meta.get_field("recipient").target_field
    unread = (
        model.objects.using(alias)
        .filter(recipient_id=OuterRef(key.attname))
        .unread()
        .order_by()
        .values("recipient_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    rows = (
        key.model._default_manager.using(alias)
        .filter(**{f"{key.attname}__in": values_of(key, ids, connections[alias])})
        .annotate(count=Coalesce(Subquery(unread, output_field=IntegerField()), 0))
        .values_list(key.attname, "count")
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
    the first is the others' too, encoded once."""
    if not notifications or not _live():
        return
    from notifications.api import publish_many
    from notifications.inbox.helpers import as_dict

    counts = unread_counts(model, {n.recipient_id for n in notifications})
    item = _alike(as_dict(notifications[0])) if alike else _each
    publish_many(
        [
            (stream_of(n.recipient_id), CREATED, item(n, counts[n.recipient_id]))
            for n in notifications
        ],
        using=_alias(model),
    )


def _each(notification: Any, unread_count: int) -> dict[str, Any]:
    from notifications.inbox.helpers import as_dict

    return {"notification": as_dict(notification), "unread_count": unread_count}


def _alike(first: dict[str, Any]) -> Any:
    """The `created` data of each notification like `first`, encoded from `first`'s JSON."""
    from notifications.inbox.slugs import id2slug

    own = ("id", "slug", "recipient")
    shared = {key: value for key, value in first.items() if key not in own}
    rest = storable(dumps(shared))[1:-1]

    def item(notification: Any, unread_count: int) -> Encoded:
        pk, recipient = notification.pk, notification.recipient_id
        slug = id2slug(pk)
        text = (
            f'{{"notification":{{"id":{_number(pk)},"slug":{_number(slug)},'
            f'"recipient":{_number(recipient)},{rest}}},"unread_count":{int(unread_count)}}}'
        )
        value = {"id": pk, "slug": slug, "recipient": recipient, **shared}
        return Encoded(text, {"notification": value, "unread_count": unread_count})

    return item


def _number(value: Any) -> str:
    return str(value) if type(value) is int else dumps(value)


def _live() -> bool:
    """The event log is there: this app is installed (a site that only borrows the swappable
    model's base class under its own app has no streams)."""
    return apps.is_installed("notifications")


def _alias(model: Any) -> str:
    from django.db import router

    return router.db_for_write(model)
