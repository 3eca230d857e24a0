"""System checks, registered in `AppConfig.ready()`. Each problem has one stable id:

E001 NOTIFICATIONS is not a dict · E002 a value has the wrong type or range · E003 STREAM_POLICY
cannot be imported · E004 CHANNEL_LAYERS lacks the alias · E005 an unknown NOTIFICATIONS key ·
E006 an ALLOWED_ORIGINS entry is not an origin · E007 the channel layer's settings are malformed ·
W001 a Redis host keeps redis-py's socket timeout · W002 a small Redis connection pool ·
W003 a small layer capacity · W004 SQLite without IMMEDIATE transactions.

A check never raises: a value it cannot read is reported, not a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string

from notifications.conf import DEFAULTS, app_settings
from notifications.middleware import normalize_origin

POSITIVE_NUMBERS = (
    "HEARTBEAT_INTERVAL",
    "HEARTBEAT_TIMEOUT",
    "SSE_KEEPALIVE",
    "RESYNC_INTERVAL",
    "STREAM_LINGER",
    "SESSION_REVALIDATE_INTERVAL",
    "TOKEN_MAX_AGE",
    "FRAME_RATE",
    "USER_FRAME_RATE",
    "LAYER_HEALTH_INTERVAL",
    "LAYER_SEND_TIMEOUT",
    "TASK_PROGRESS_RATE",
    "TASK_OUTPUT_INTERVAL",
    "TASK_HEARTBEAT_INTERVAL",
    "TASK_WORKER_TIMEOUT",
    "PRESENCE_TTL",
    "PRESENCE_REFRESH",
    "PRESENCE_SWEEP_INTERVAL",
)
POSITIVE_INTEGERS = (
    "SSE_RETRY",
    "SSE_MAX_BYTES",
    "MAX_BUFFERED_EVENTS",
    "MAX_UNACKED_BYTES",
    "MAX_FRAME_BYTES",
    "MAX_SUBSCRIPTIONS",
    "REPLAY_PAGE_SIZE",
    "MAX_CONNECTIONS_PER_USER",
    "FRAME_BURST",
    "USER_FRAME_BURST",
    "MAX_PUBLISH_BYTES",
    "TASK_OUTPUT_BYTES",
)
STRINGS = ("STREAM_POLICY", "CHANNEL_LAYER")
REDIS_CORE_LAYER = "channels_redis.core.RedisChannelLayer"
CAPACITY_LAYERS = (REDIS_CORE_LAYER, "channels.layers.InMemoryChannelLayer")


def defensive(check: Callable[..., list[CheckMessage]]) -> Callable[..., list[CheckMessage]]:
    """A check that meets a value it did not foresee reports it instead of crashing."""

    def run(**kwargs: Any) -> list[CheckMessage]:
        try:
            return check(**kwargs)
        except Exception as error:
            return [
                Error(
                    f"A notifications setting could not be read ({check.__name__}: {error!r}).",
                    id="notifications.E002",
                )
            ]

    run.__name__ = check.__name__
    run.__wrapped__ = check  # type: ignore[attr-defined]
    return run


def check_settings(**kwargs: Any) -> list[CheckMessage]:
    configured = getattr(settings, "NOTIFICATIONS", {})
    if not isinstance(configured, dict):
        return [Error("NOTIFICATIONS must be a dict.", id="notifications.E001")]
    errors: list[CheckMessage] = [
        Error(
            f"NOTIFICATIONS has an unknown key {key!r}.",
            hint="Known keys: " + ", ".join(sorted(DEFAULTS)),
            id="notifications.E005",
        )
        for key in configured
        if key not in DEFAULTS
    ]
    for key in POSITIVE_NUMBERS:
        if not _is_number(configured.get(key, DEFAULTS[key]), integer=False):
            errors.append(_bad_value(key, "a positive number"))
    for key in POSITIVE_INTEGERS:
        if not _is_number(configured.get(key, DEFAULTS[key]), integer=True):
            errors.append(_bad_value(key, "a positive integer"))
    for key in STRINGS:
        if not isinstance(configured.get(key, DEFAULTS[key]), str):
            errors.append(_bad_value(key, "a string"))
    retention = configured.get("RETENTION_DAYS")
    if retention is not None and not _is_number(retention, integer=False):
        errors.append(_bad_value("RETENTION_DAYS", "None or a positive number of days"))
    errors.extend(_check_origins(configured.get("ALLOWED_ORIGINS")))
    if errors:
        return errors
    path = configured.get("STREAM_POLICY", DEFAULTS["STREAM_POLICY"])
    try:
        import_string(path)
    except ImportError as error:
        errors.append(
            Error(
                f"NOTIFICATIONS['STREAM_POLICY'] cannot be imported: {error}",
                id="notifications.E003",
            )
        )
    return errors


def _check_origins(origins: object) -> list[CheckMessage]:
    if origins is None:
        return []
    if not isinstance(origins, list | tuple) or not all(isinstance(o, str) for o in origins):
        return [_bad_value("ALLOWED_ORIGINS", "None or a list of origins")]
    return [
        Error(
            f"NOTIFICATIONS['ALLOWED_ORIGINS'] has {origin!r}, which is not an origin.",
            hint='Write scheme, host and optional port, e.g. "https://example.com:8443".',
            id="notifications.E006",
        )
        for origin in origins
        if normalize_origin(origin.replace("://*.", "://", 1)) is None
        or origin.rstrip("/").count("/") > 2
    ]


def check_channel_layer(**kwargs: Any) -> list[CheckMessage]:
    layers = getattr(settings, "CHANNEL_LAYERS", None)
    alias = app_settings.CHANNEL_LAYER
    if layers is None and "CHANNEL_LAYER" not in getattr(settings, "NOTIFICATIONS", {}):
        return [
            Warning(
                "CHANNEL_LAYERS is not set: notifications are stored, but not pushed live.",
                hint="Use channels.layers.InMemoryChannelLayer for one process, "
                f"{REDIS_CORE_LAYER} for several.",
                id="notifications.W005",
            )
        ]
    if not isinstance(layers, dict) or alias not in layers:
        return [
            Error(
                f"CHANNEL_LAYERS has no {alias!r} layer.",
                hint="Use channels.layers.InMemoryChannelLayer for one process, "
                f"{REDIS_CORE_LAYER} for several.",
                id="notifications.E004",
            )
        ]
    layer = layers[alias]
    config = layer.get("CONFIG", {}) if isinstance(layer, dict) else None
    if not isinstance(config, dict):
        return [_malformed_layer(alias, "it must be a dict with BACKEND and a CONFIG dict")]
    messages: list[CheckMessage] = []
    backend = layer.get("BACKEND")
    if backend == REDIS_CORE_LAYER:
        hosts = config.get("hosts") or [{}]
        if not isinstance(hosts, list | tuple):
            return [_malformed_layer(alias, "CONFIG['hosts'] must be a list")]
        for host in hosts:
            messages.extend(_check_redis_host(host))
    if "capacity" in config or backend in CAPACITY_LAYERS:
        capacity = config.get("capacity", 100)
        if not _is_number(capacity, integer=True):
            messages.append(_malformed_layer(alias, "CONFIG['capacity'] must be an integer"))
        elif capacity < 1000:
            messages.append(
                Warning(
                    "The channel layer's capacity is below 1000.",
                    hint="Each process receives all its streams' events on one channel; "
                    'set "capacity" to 10000 or more.',
                    id="notifications.W003",
                )
            )
    return messages


def _check_redis_host(host: object) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    options = host if isinstance(host, dict) else {}
    if options.get("socket_timeout", 5) is not None:
        messages.append(
            Warning(
                "A Redis host of the channel layer keeps redis-py's socket timeout.",
                hint='Set "socket_timeout": None in the host dict; otherwise idle '
                "receivers fail with TimeoutError every few seconds.",
                id="notifications.W001",
            )
        )
    pool = options.get("max_connections", 0)
    if not _is_number(pool, integer=True) or pool < 1000:
        messages.append(
            Warning(
                "A Redis host of the channel layer has a small connection pool.",
                hint='Set "max_connections" (e.g. 10000): the default pool raises '
                "instead of waiting, and mass disconnects leave stale group members.",
                id="notifications.W002",
            )
        )
    return messages


def check_sqlite(**kwargs: Any) -> list[CheckMessage]:
    databases = getattr(settings, "DATABASES", {})
    return [
        Warning(
            f"SQLite database {alias!r} does not use IMMEDIATE transactions.",
            hint='Add "transaction_mode": "IMMEDIATE" to its OPTIONS, or concurrent '
            'publishers fail with "database is locked".',
            id="notifications.W004",
        )
        for alias, database in databases.items()
        if isinstance(database, dict)
        and database.get("ENGINE") == "django.db.backends.sqlite3"
        and not (
            isinstance(database.get("OPTIONS"), dict)
            and database["OPTIONS"].get("transaction_mode") == "IMMEDIATE"
        )
    ]


CHECKS = (defensive(check_settings), defensive(check_channel_layer), defensive(check_sqlite))


def register_checks() -> None:
    for check in CHECKS:
        register(check)


def _is_number(value: object, *, integer: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if integer and not isinstance(value, int):
        return False
    return value > 0


def _bad_value(key: str, expected: str) -> Error:
    return Error(f"NOTIFICATIONS[{key!r}] must be {expected}.", id="notifications.E002")


def _malformed_layer(alias: str, problem: str) -> Error:
    return Error(f"CHANNEL_LAYERS[{alias!r}] is malformed: {problem}.", id="notifications.E007")
