"""`{% load live %}`: `{% live_client %}` (the browser client, configured through data-
attributes) and `{% recent_events %}` (a stream's last events, for the page's user only)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django import template
from django.forms.utils import flatatt
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from notifications.conf import app_settings

if TYPE_CHECKING:
    from notifications.history import Page

register = template.Library()


@register.simple_tag(takes_context=True)
def live_client(
    context: template.Context,
    transport: str = "websocket",
    cursors: dict[str, int] | None = None,
    websocket_url: str = "/ws/live/",
    nonce: str | None = None,
    token: str | None = None,
) -> SafeString:
    """The `<script>` of `notifications/live.js`. `cursors` maps streams to the seq the page was
    rendered at, so subscriptions resume exactly there; the CSP nonce is taken from the
    context (`csp_nonce`) or the request when not given. `token` authenticates without the
    session cookie."""
    request = context.get("request")
    nonce = nonce or context.get("csp_nonce") or getattr(request, "csp_nonce", None)
    attributes: dict[str, Any] = {
        "src": static("notifications/live.js"),
        "data-websocket-url": websocket_url,
        "data-transport": transport,
        "data-heartbeat": app_settings.HEARTBEAT_INTERVAL,
        "data-sse-keepalive": app_settings.SSE_KEEPALIVE,
        "data-cursors": json.dumps(cursors or {}),
    }
    events_url = _events_url()
    if events_url:
        attributes["data-events-url"] = events_url
    if token:
        attributes["data-token"] = token
    if nonce:
        attributes["nonce"] = str(nonce)
    return format_html("<script{}></script>", flatatt(attributes))


@register.simple_tag(takes_context=True)
def recent_events(context: template.Context, stream: object, limit: int = 20) -> Page:
    """`{% recent_events "room:lobby" 20 as page %}`: the stream's last events if the request's
    user may read it (through the stream policy), else an empty page whose `refused` says why
    ("forbidden", "not_authenticated", "invalid_stream")."""
    from notifications.history import Page, recent_or_refused

    user = getattr(context.get("request"), "user", None)
    if user is None:
        return Page(str(stream), refused="not_authenticated")
    return recent_or_refused(user, stream, limit)


def _events_url() -> str | None:
    try:
        return reverse("notifications:events", kwargs={"stream": "broadcast"}).removesuffix(
            "broadcast/"
        )
    except NoReverseMatch:
        return None
