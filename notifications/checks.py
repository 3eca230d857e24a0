"""System checks; ids are stable: notifications.E001-E004, notifications.W001-W004."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string

from notifications.conf import DEFAULTS, app_settings

POSITIVE_NUMBERS = (
    "HEARTBEAT_INTERVAL",
    "HEARTBEAT_TIMEOUT",
    "SSE_KEEPALIVE",
    "RESYNC_INTERVAL",
    "STREAM_LINGER",
)
POSITIVE_INTEGERS = (
    "SSE_RETRY",
    "SSE_MAX_BYTES",
    "MAX_BUFFERED_EVENTS",
    "MAX_UNACKED_BYTES",
    "MAX_FRAME_BYTES",
    "MAX_SUBSCRIPTIONS",
    "REPLAY_PAGE_SIZE",
)
REDIS_CORE_LAYER = "channels_redis.core.RedisChannelLayer"


@register()
def check_settings(**kwargs: Any) -> list[CheckMessage]:
    configured = getattr(settings, "NOTIFICATIONS", {})
    if not isinstance(configured, dict):
        return [Error("NOTIFICATIONS must be a dict.", id="notifications.E001")]
    errors: list[CheckMessage] = [
        Error(
            f"NOTIFICATIONS has an unknown key {key!r}.",
            hint="Known keys: " + ", ".join(sorted(DEFAULTS)),
            id="notifications.E001",
        )
        for key in configured
        if key not in DEFAULTS
    ]
    for key in POSITIVE_NUMBERS:
        if not _is_number(configured.get(key, DEFAULTS[key]), integer=False):
            errors.append(_bad_value(key, "a positive number of seconds"))
    for key in POSITIVE_INTEGERS:
        if not _is_number(configured.get(key, DEFAULTS[key]), integer=True):
            errors.append(_bad_value(key, "a positive integer"))
    retention = configured.get("RETENTION_DAYS")
    if retention is not None and not _is_number(retention, integer=False):
        errors.append(_bad_value("RETENTION_DAYS", "None or a positive number of days"))
    if errors:
        return errors
    try:
        import_string(app_settings.STREAM_POLICY)
    except ImportError as error:
        errors.append(
            Error(
                f"NOTIFICATIONS['STREAM_POLICY'] cannot be imported: {error}",
                id="notifications.E003",
            )
        )
    return errors


@register()
def check_channel_layer(**kwargs: Any) -> list[CheckMessage]:
    layers = getattr(settings, "CHANNEL_LAYERS", {})
    alias = app_settings.CHANNEL_LAYER
    if alias not in layers:
        return [
            Error(
                f"CHANNEL_LAYERS has no {alias!r} layer.",
                hint="Use channels.layers.InMemoryChannelLayer for one process, "
                f"{REDIS_CORE_LAYER} for several.",
                id="notifications.E004",
            )
        ]
    layer = layers[alias]
    config = layer.get("CONFIG", {})
    messages: list[CheckMessage] = []
    if layer.get("BACKEND") == REDIS_CORE_LAYER:
        for host in config.get("hosts") or [{}]:
            if not isinstance(host, dict) or host.get("socket_timeout", 5) is not None:
                messages.append(
                    Warning(
                        "A Redis host of the channel layer keeps redis-py's socket timeout.",
                        hint='Set "socket_timeout": None in the host dict; otherwise idle '
                        "receivers fail with TimeoutError every few seconds.",
                        id="notifications.W001",
                    )
                )
            if not isinstance(host, dict) or int(host.get("max_connections", 0) or 0) < 1000:
                messages.append(
                    Warning(
                        "A Redis host of the channel layer has a small connection pool.",
                        hint='Set "max_connections" (e.g. 10000): the default pool raises '
                        "instead of waiting, and mass disconnects leave stale group members.",
                        id="notifications.W002",
                    )
                )
    capacity_applies = "capacity" in config or layer.get("BACKEND") in (
        REDIS_CORE_LAYER,
        "channels.layers.InMemoryChannelLayer",
    )
    if capacity_applies and int(config.get("capacity", 100)) < 1000:
        messages.append(
            Warning(
                "The channel layer's capacity is below 1000.",
                hint="Each process receives all its streams' events on one channel; "
                'set "capacity" to 10000 or more.',
                id="notifications.W003",
            )
        )
    return messages


@register()
def check_sqlite(**kwargs: Any) -> list[CheckMessage]:
    return [
        Warning(
            f"SQLite database {alias!r} does not use IMMEDIATE transactions.",
            hint='Add "transaction_mode": "IMMEDIATE" to its OPTIONS, or concurrent '
            'publishers fail with "database is locked".',
            id="notifications.W004",
        )
        for alias, database in settings.DATABASES.items()
        if database.get("ENGINE") == "django.db.backends.sqlite3"
        and database.get("OPTIONS", {}).get("transaction_mode") != "IMMEDIATE"
    ]


def _is_number(value: object, *, integer: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if integer and not isinstance(value, int):
        return False
    return value > 0


def _bad_value(key: str, expected: str) -> Error:
    return Error(f"NOTIFICATIONS[{key!r}] must be {expected}.", id="notifications.E002")
