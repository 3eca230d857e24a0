"""`{% load demo %}`: the demo site's template filters (registered in TEMPLATES' libraries)."""

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def user_stream(user: Any) -> str:
    """`{{ user|user_stream }}`: the user's own stream, `user:<pk>`."""
    return f"user:{user.pk}"


@register.filter
def merged(cursors: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    """`own.cursors|merged:news.cursors`: the cursors of two pages, for one `{% live_client %}`."""
    return {**cursors, **more}


@register.filter
def event_text(data: Any) -> str:
    """The line an event shows: its data's title or text, else the data as compact JSON.
    `eventText` in site.js does the same for live events."""
    if isinstance(data, dict):
        for key in ("title", "text"):
            if isinstance(data.get(key), str):
                return str(data[key])
        notification = data.get("notification")
        if isinstance(notification, dict):
            parts = (notification.get(key) for key in ("actor", "verb", "target"))
            return " ".join(str(part) for part in parts if part)
        if isinstance(data.get("unread_count"), int):
            return f"{data['unread_count']} unread"
    if isinstance(data, str):
        return data
    return "" if data is None else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
