"""`{% load notifications_tags %}`: django-notifications-hq's tags, fed by pushes instead of
polling. Each count is the page user's own, read when the page renders (with the sends to
everyone they have not had yet), then kept current by the events on their `user:<id>` stream
and on `broadcast`."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from notifications.inbox.broadcasts import STREAM as BROADCAST_STREAM
from notifications.inbox.broadcasts import deliver
from notifications.inbox.helpers import deliver_once, listed
from notifications.inbox.live import stream_of
from notifications.templatetags.live import live_client

register = template.Library()


def user_context(context: template.Context) -> Any:
    """The signed-in user of the page's request, or None."""
    request = context.get("request")
    user = getattr(request, "user", None) if request is not None else context.get("user")
    if user is None or not user.is_authenticated:
        return None
    return user


def inbox_user(context: template.Context) -> Any:
    """The signed-in user of the page, once the sends to everyone they have not had yet are
    in their inbox; or None."""
    user = user_context(context)
    if user is not None:
        request = context.get("request")
        if request is not None:
            deliver_once(request)
        else:
            deliver(user)
    return user


def heads_of(user: Any) -> dict[str, int]:
    """Where the user's stream and `broadcast` stand before the page reads the inbox: a page
    subscribes from there, so nothing that happens while it loads is missed."""
    from django.apps import apps

    from notifications.log import read_heads

    streams = [stream_of(user.pk), BROADCAST_STREAM]
    heads = read_heads(streams) if apps.is_installed("notifications") else {}
    return {stream: heads.get(stream, 0) for stream in streams}


@register.simple_tag(takes_context=True)
def notifications_unread(context: template.Context) -> int | str:
    """`{% notifications_unread %}` or `{% notifications_unread as count %}`: the page user's
    unread count ('' for a visitor who is not signed in)."""
    user = inbox_user(context)
    if user is None:
        return ""
    return int(user.notifications.unread().count())


@register.filter
def has_notification(user: Any) -> bool:
    if not user or not getattr(user, "is_authenticated", False):
        return False
    deliver(user)
    return bool(user.notifications.unread().exists())


@register.simple_tag(takes_context=True)
def live_notify_badge(context: template.Context, badge_class: str = "live_notify_badge") -> str:
    user = inbox_user(context)
    if user is None:
        return ""
    return format_html(
        '<span class="{}" data-notify-badge>{}</span>',
        badge_class,
        user.notifications.unread().count(),
    )


@register.simple_tag
def live_notify_list(list_class: str = "live_notify_list") -> str:
    return format_html('<ul class="{}" data-notify-list></ul>', list_class)


@register.simple_tag(takes_context=True)
def register_notify_callbacks(
    context: template.Context,
    badge_class: str = "live_notify_badge",
    menu_class: str = "live_notify_list",
    refresh_period: int = 15,
    callbacks: str = "",
    api_name: str = "list",
    fetch: int = 5,
    nonce: str | None = None,
    mark_as_read: bool = False,
    client: bool = True,
) -> SafeString | str:
    """The page's notification client: the badge and list by class, and the named JavaScript
    callbacks called with `{unread_count, unread_list}` on load and after every push to the
    user's stream or to everyone (`broadcast`). It includes the live client unless
    `client=False` (the page has `{% live_client %}` already). `refresh_period` no longer
    polls; it is kept for the templates that pass it."""
    user = user_context(context)
    if user is None:
        return ""
    heads = heads_of(user)
    if api_name == "list":
        api_url = reverse("notifications:live_unread_notification_list")
    elif api_name == "count":
        api_url = reverse("notifications:live_unread_notification_count")
    else:
        return ""
    config = {
        "badgeClass": badge_class,
        "menuClass": menu_class,
        "apiUrl": api_url,
        "fetchCount": int(fetch),
        "unreadUrl": reverse("notifications:unread"),
        "markAllUrl": reverse("notifications:mark_all_as_read"),
        "markAsRead": bool(mark_as_read),
        "stream": stream_of(user.pk),
        "since": heads[stream_of(user.pk)],
        "broadcastStream": BROADCAST_STREAM,
        "broadcastSince": heads[BROADCAST_STREAM],
        "callbacks": [name.strip() for name in callbacks.split(",") if name.strip()],
    }
    nonce = nonce or context.get("csp_nonce") or getattr(context.get("request"), "csp_nonce", None)
    return format_html(
        '{}<script src="{}" data-notify-config="{}"{}></script>',
        live_client(context, nonce=nonce) if client else "",
        static("notifications/notify.js"),
        json.dumps(config),
        format_html(' nonce="{}"', nonce) if nonce else "",
    )


@register.inclusion_tag("notifications/bell.html", takes_context=True)
def notification_bell(
    context: template.Context, fetch: int = 8, transport: str = ""
) -> dict[str, Any]:
    """`{% notification_bell %}`: a badge with the page user's unread count and a dropdown of
    their latest notifications, kept current by pushes; clicking one marks it read. The page
    needs the live client (`{% live_client %}`); `transport` ("websocket" or "sse") overrides
    the client's default for the bell's subscriptions (the user's stream and `broadcast`)."""
    user = user_context(context)
    if user is None:
        return {"stream": None}
    heads = heads_of(user)
    inbox_user(context)
    return {
        "request": context.get("request"),
        "stream": stream_of(user.pk),
        "since": heads[stream_of(user.pk)],
        "broadcast_stream": BROADCAST_STREAM,
        "broadcast_since": heads[BROADCAST_STREAM],
        "unread_count": user.notifications.unread().count(),
        "latest": list(listed(user.notifications)[:fetch]),
        "fetch": fetch,
        "transport": transport,
        "nonce": context.get("csp_nonce") or getattr(context.get("request"), "csp_nonce", None),
        "csrf_token": context.get("csrf_token"),
    }


__all__ = [
    "has_notification",
    "heads_of",
    "inbox_user",
    "live_notify_badge",
    "live_notify_list",
    "notification_bell",
    "notifications_unread",
    "register",
    "register_notify_callbacks",
    "user_context",
]
