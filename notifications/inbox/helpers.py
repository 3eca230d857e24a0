"""A notification as JSON (django-notifications-hq's list item), and the lists its JSON views
return."""

from __future__ import annotations

from typing import Any

from django.forms.models import model_to_dict
from django.http import HttpRequest

from notifications.inbox.conf import get_config, soft_delete

RELATED = ("actor", "target", "action_object")


def as_dict(notification: Any) -> dict[str, Any]:
    """Every editable field (as `model_to_dict` gives them), the `slug`, and `actor`, `target`
    and `action_object` as text where they exist."""
    item = model_to_dict(notification)
    item["slug"] = None if notification.pk is None else notification.slug
    item["timestamp"] = notification.timestamp
    item["read_at"] = getattr(notification, "read_at", None)
    for name in RELATED:
        related = getattr(notification, name)
        if related:
            item[name] = str(related)
    return item


def inbox_of(request: Any) -> Any:
    """The signed-in user's notifications (`user.notifications`), of a Django or DRF request,
    once the sends to everyone they have not had yet are in (checked once per request)."""
    deliver_once(request)
    return request.user.notifications


def deliver_once(request: Any) -> None:
    """`broadcasts.deliver` for the request's user, the first time the request asks."""
    user = request.user
    request = getattr(request, "_request", request)
    if getattr(request, "_notifications_delivered", None) == user.pk:
        return
    from notifications.inbox.broadcasts import deliver

    deliver(user)
    request._notifications_delivered = user.pk


def listed(notifications: Any) -> Any:
    """The notifications an inbox lists (without the soft-deleted ones, when SOFT_DELETE is
    on), their generic relations prefetched: of `inbox_of(request)` or `user.notifications`."""
    chosen = notifications.active() if soft_delete() else notifications.all()
    return chosen.prefetch_related(*RELATED)


def get_num_to_fetch(request: HttpRequest) -> int:
    default = int(get_config()["NUM_TO_FETCH"])
    try:
        count = int(request.GET.get("max", default))
    except ValueError:
        return default
    return count if 1 <= count <= 100 else default


def get_notification_list(
    request: HttpRequest, method_name: str = "all", *, mark_read: bool | None = None
) -> list[dict[str, Any]]:
    """The newest notifications of the user (`all` or `unread`); with `mark_read` (by default:
    `?mark_as_read=1`) they are marked read afterwards, in one update."""
    chosen = getattr(inbox_of(request), method_name)().prefetch_related(*RELATED)
    notifications = list(chosen[: get_num_to_fetch(request)])
    items = [as_dict(notification) for notification in notifications]
    if mark_read is None:
        mark_read = bool(request.GET.get("mark_as_read"))
    if notifications and mark_read:
        model = type(notifications[0])
        model.objects.filter(pk__in=[n.pk for n in notifications]).mark_all_as_read()
    return items
