"""`DJANGO_NOTIFICATIONS_CONFIG`, django-notifications-hq's settings, read when used."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "PAGINATE_BY": 20,
    "USE_JSONFIELD": False,
    "SOFT_DELETE": False,
    "NUM_TO_FETCH": 10,
    "CACHE_TIMEOUT": 2,
}


def get_config() -> dict[str, Any]:
    return {**DEFAULTS, **getattr(settings, "DJANGO_NOTIFICATIONS_CONFIG", {})}


def soft_delete() -> bool:
    """Whether deleting a notification only marks it `deleted`."""
    return bool(get_config()["SOFT_DELETE"])
