"""Sends to everyone, stored once: one `Broadcast` row and one event on the stream `broadcast`.
A user's notification row for it is made the first time their inbox is read afterwards
(`deliver`), so each user has their own read state and nothing is written per user up front."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import router, transaction
from django.db.models import Model, QuerySet, Subquery
from django.utils import timezone

from notifications.api import publish
from notifications.inbox import live
from notifications.inbox.helpers import as_dict
from notifications.inbox.models import Broadcast, InboxMark, get_notification_model

STREAM = "broadcast"
BROADCAST = "notification.broadcast"


def send_to_everyone(
    verb: str,
    *,
    actor: Model | None = None,
    level: str = "info",
    description: str | None = None,
    data: dict[str, Any] | None = None,
    url: str | None = None,
    public: bool = True,
    timestamp: datetime | None = None,
    sent_by: Any = None,
) -> Broadcast:
    """Store one Broadcast and publish it on `broadcast` (`notification.broadcast`) once the
    transaction commits. Every user who joined before it finds it in their inbox, unread,
    the next time the inbox is read. `reached` is the number of active users now."""
    broadcast = new_broadcast(
        Broadcast.Audience.EVERYONE,
        verb,
        actor=actor,
        level=level,
        description=description,
        data=data,
        url=url,
        public=public,
        timestamp=timestamp,
        sent_by=sent_by,
    )
    broadcast.reached = active_users()
    using = router.db_for_write(Broadcast)
    with transaction.atomic(using=using):
        broadcast.save(using=using)
        event = publish(STREAM, BROADCAST, {"notification": as_item(broadcast)}, using=using)
        broadcast.seq = event.seq
        Broadcast.objects.using(using).filter(pk=broadcast.pk).update(seq=event.seq)
    return broadcast


def new_broadcast(
    audience: str,
    verb: str,
    *,
    actor: Model | None = None,
    level: str = "info",
    description: str | None = None,
    data: dict[str, Any] | None = None,
    url: str | None = None,
    public: bool = True,
    timestamp: datetime | None = None,
    sent_by: Any = None,
) -> Broadcast:
    """An unsaved Broadcast of what `notify()` would send with these arguments."""
    broadcast = Broadcast(
        audience=audience,
        verb=str(verb),
        level=level,
        description=description or "",
        data={**(data or {}), **({"url": url} if url else {})} or None,
        public=public,
        timestamp=timestamp or timezone.now(),
        sent_by=sent_by,
    )
    if actor is not None:
        broadcast.actor = actor
        broadcast.actor_object_id = str(actor.pk)
    return broadcast


def notify_everyone(
    verb: str,
    *,
    target: Model | None = None,
    action_object: Model | None = None,
    **options: Any,
) -> int:
    """`notify(EVERYONE, ...)`: `send_to_everyone`, answering how many active users it
    reaches."""
    if target is not None or action_object is not None:
        raise TypeError("A send to everyone takes an actor, but no target or action_object.")
    return send_to_everyone(verb, **options).reached or 0


def active_users() -> int:
    model = get_user_model()
    users = model._default_manager.all()
    if any(field.name == "is_active" for field in model._meta.concrete_fields):
        users = users.filter(is_active=True)
    return users.count()


def as_item(broadcast: Broadcast) -> dict[str, Any]:
    """The broadcast as a notification's JSON (`helpers.as_dict`), before any user has a row
    of it: `id`, `slug` and `recipient` are null, and `broadcast` is its id."""
    item = as_dict(_notification(get_notification_model(), broadcast, None))
    return {**item, "id": None, "slug": None, "broadcast": broadcast.pk, "unread": True}


def everyone_since(user: Any) -> QuerySet[Broadcast]:
    """The sends to everyone that `user` gets: those since they joined."""
    everyone = Broadcast.objects.filter(audience=Broadcast.Audience.EVERYONE, seq__isnull=False)
    joined = getattr(user, "date_joined", None)
    return everyone if joined is None else everyone.filter(timestamp__gte=joined)


def deliver(user: Any) -> int:
    """Put the sends to everyone that `user` has not had yet into their inbox, once however
    many requests ask at the same time, and push them to the user's tabs with the new unread
    count; returns how many. One query when there is nothing new."""
    if not getattr(user, "is_authenticated", False) or not apps.is_installed("notifications"):
        return 0
    everyone = everyone_since(user)
    latest = everyone.order_by("-seq").values("seq")[:1]
    seen = InboxMark.objects.filter(user_id=user.pk).values("broadcasts_seen")
    row = (
        get_user_model()
        ._default_manager.filter(pk=user.pk)
        .annotate(seen=Subquery(seen), latest=Subquery(latest))
        .values_list("seen", "latest")
        .first()
    )
    seen_seq, latest_seq = row or (None, None)
    if latest_seq is None or (seen_seq is not None and latest_seq <= seen_seq):
        return 0
    using = router.db_for_write(InboxMark)
    marks = InboxMark.objects.using(using)
    if seen_seq is None:
        marks.bulk_create([InboxMark(user_id=user.pk, broadcasts_seen=0)], ignore_conflicts=True)
        seen_seq = 0
    model = get_notification_model()
    with transaction.atomic(using=using):
        moved = marks.filter(user_id=user.pk, broadcasts_seen=seen_seq).update(
            broadcasts_seen=latest_seq
        )
        if not moved:
            return 0
        new = everyone.filter(seq__gt=seen_seq, seq__lte=latest_seq).order_by("seq")
        rows = [
            _notification(model, broadcast, user.pk)
            for broadcast in new.using(using).prefetch_related("actor")
        ]
        created = model.objects.using(using).bulk_create(rows)
        live.push_created(model, created)
    return len(created)


def prune(before: datetime) -> int:
    """Delete the sends to everyone older than `before`: users who have not read their inbox
    since then never get them. Rows already delivered stay."""
    return Broadcast.objects.filter(
        audience=Broadcast.Audience.EVERYONE, timestamp__lt=before
    ).delete()[0]


def _notification(model: Any, broadcast: Broadcast, recipient_id: Any) -> Any:
    notification = model(
        recipient_id=recipient_id,
        verb=broadcast.verb,
        level=broadcast.level,
        description=broadcast.description or None,
        public=broadcast.public,
        timestamp=broadcast.timestamp,
        data={**(broadcast.data or {}), "broadcast": broadcast.pk},
    )
    if broadcast.actor_content_type_id is not None:
        notification.actor_content_type_id = broadcast.actor_content_type_id
        notification.actor_object_id = broadcast.actor_object_id
        model._meta.get_field("actor").set_cached_value(notification, broadcast.actor)
    return notification
