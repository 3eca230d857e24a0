from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "STREAM_POLICY": "notifications.policy.StreamPolicy",
    "CHANNEL_LAYER": "default",
    "HEARTBEAT_INTERVAL": 25.0,
    "HEARTBEAT_TIMEOUT": 20.0,
    "SSE_KEEPALIVE": 15.0,
    "SSE_RETRY": 2000,
    "SSE_MAX_BYTES": 8 * 1024 * 1024,
    "RESYNC_INTERVAL": 2.0,
    "STREAM_LINGER": 30.0,
    "MAX_BUFFERED_EVENTS": 1000,
    "MAX_UNACKED_BYTES": 1024 * 1024,
    "MAX_FRAME_BYTES": 64 * 1024,
    "MAX_SUBSCRIPTIONS": 50,
    "REPLAY_PAGE_SIZE": 500,
    "RETENTION_DAYS": None,
    "ALLOWED_ORIGINS": None,
    "SESSION_REVALIDATE_INTERVAL": 30.0,
    "TOKEN_MAX_AGE": 300.0,
    "MAX_CONNECTIONS_PER_USER": 30,
    "FRAME_RATE": 20.0,
    "FRAME_BURST": 40,
    "USER_FRAME_RATE": 50.0,
    "USER_FRAME_BURST": 100,
    "MAX_PUBLISH_BYTES": 64 * 1024,
    "LAYER_HEALTH_INTERVAL": 10.0,
    "LAYER_SEND_TIMEOUT": 5.0,
    "TASK_PROGRESS_RATE": 10.0,
    "TASK_OUTPUT_INTERVAL": 0.1,
    "TASK_OUTPUT_BYTES": 4096,
    "TASK_HEARTBEAT_INTERVAL": 1.0,
    "TASK_WORKER_TIMEOUT": 10.0,
    "STARTABLE_TASKS": [],
    "CHAT_TASK": None,
    "INBOX_GET_ACTIONS": False,
    "CHAT_HISTORY": 50,
    "CHAT_MESSAGE_MAX_LENGTH": 4000,
    "CHAT_SEND_RATE": 1.0,
    "CHAT_SEND_BURST": 10,
    "CHAT_TYPING_INTERVAL": 2.0,
    "PRESENCE_TTL": 60.0,
    "PRESENCE_REFRESH": 15.0,
    "PRESENCE_SWEEP_INTERVAL": 5.0,
    "PRESENCE_GRACE": 5.0,
    "PRESENCE_REDIS_URL": None,
}


class Settings:
    """The app's settings: `settings.NOTIFICATIONS` over `DEFAULTS`, read on every access."""

    def _get(self, name: str) -> Any:
        configured = getattr(settings, "NOTIFICATIONS", {})
        if isinstance(configured, dict) and name in configured:
            return configured[name]
        return DEFAULTS[name]

    @property
    def STREAM_POLICY(self) -> str:
        return str(self._get("STREAM_POLICY"))

    @property
    def CHANNEL_LAYER(self) -> str:
        return str(self._get("CHANNEL_LAYER"))

    @property
    def HEARTBEAT_INTERVAL(self) -> float:
        return float(self._get("HEARTBEAT_INTERVAL"))

    @property
    def HEARTBEAT_TIMEOUT(self) -> float:
        return float(self._get("HEARTBEAT_TIMEOUT"))

    @property
    def SSE_KEEPALIVE(self) -> float:
        return float(self._get("SSE_KEEPALIVE"))

    @property
    def SSE_RETRY(self) -> int:
        return int(self._get("SSE_RETRY"))

    @property
    def SSE_MAX_BYTES(self) -> int:
        return int(self._get("SSE_MAX_BYTES"))

    @property
    def RESYNC_INTERVAL(self) -> float:
        return float(self._get("RESYNC_INTERVAL"))

    @property
    def STREAM_LINGER(self) -> float:
        return float(self._get("STREAM_LINGER"))

    @property
    def MAX_BUFFERED_EVENTS(self) -> int:
        return int(self._get("MAX_BUFFERED_EVENTS"))

    @property
    def MAX_UNACKED_BYTES(self) -> int:
        return int(self._get("MAX_UNACKED_BYTES"))

    @property
    def MAX_FRAME_BYTES(self) -> int:
        return int(self._get("MAX_FRAME_BYTES"))

    @property
    def MAX_SUBSCRIPTIONS(self) -> int:
        return int(self._get("MAX_SUBSCRIPTIONS"))

    @property
    def REPLAY_PAGE_SIZE(self) -> int:
        return int(self._get("REPLAY_PAGE_SIZE"))

    @property
    def RETENTION_DAYS(self) -> float | None:
        value = self._get("RETENTION_DAYS")
        return None if value is None else float(value)

    @property
    def ALLOWED_ORIGINS(self) -> list[str] | None:
        value = self._get("ALLOWED_ORIGINS")
        return None if value is None else [str(origin) for origin in value]

    @property
    def SESSION_REVALIDATE_INTERVAL(self) -> float:
        return float(self._get("SESSION_REVALIDATE_INTERVAL"))

    @property
    def TOKEN_MAX_AGE(self) -> float:
        return float(self._get("TOKEN_MAX_AGE"))

    @property
    def MAX_CONNECTIONS_PER_USER(self) -> int:
        return int(self._get("MAX_CONNECTIONS_PER_USER"))

    @property
    def FRAME_RATE(self) -> float:
        return float(self._get("FRAME_RATE"))

    @property
    def FRAME_BURST(self) -> int:
        return int(self._get("FRAME_BURST"))

    @property
    def USER_FRAME_RATE(self) -> float:
        return float(self._get("USER_FRAME_RATE"))

    @property
    def USER_FRAME_BURST(self) -> int:
        return int(self._get("USER_FRAME_BURST"))

    @property
    def MAX_PUBLISH_BYTES(self) -> int:
        return int(self._get("MAX_PUBLISH_BYTES"))

    @property
    def LAYER_HEALTH_INTERVAL(self) -> float:
        return float(self._get("LAYER_HEALTH_INTERVAL"))

    @property
    def LAYER_SEND_TIMEOUT(self) -> float:
        return float(self._get("LAYER_SEND_TIMEOUT"))

    @property
    def TASK_PROGRESS_RATE(self) -> float:
        return float(self._get("TASK_PROGRESS_RATE"))

    @property
    def TASK_OUTPUT_INTERVAL(self) -> float:
        return float(self._get("TASK_OUTPUT_INTERVAL"))

    @property
    def TASK_OUTPUT_BYTES(self) -> int:
        return int(self._get("TASK_OUTPUT_BYTES"))

    @property
    def TASK_HEARTBEAT_INTERVAL(self) -> float:
        return float(self._get("TASK_HEARTBEAT_INTERVAL"))

    @property
    def TASK_WORKER_TIMEOUT(self) -> float:
        return float(self._get("TASK_WORKER_TIMEOUT"))

    @property
    def STARTABLE_TASKS(self) -> list[str]:
        return [str(path) for path in self._get("STARTABLE_TASKS")]

    @property
    def CHAT_TASK(self) -> str | None:
        value = self._get("CHAT_TASK")
        return None if value is None else str(value)

    @property
    def INBOX_GET_ACTIONS(self) -> bool:
        """django-notifications-hq's GET links that mark read or delete keep working."""
        return bool(self._get("INBOX_GET_ACTIONS"))

    @property
    def CHAT_HISTORY(self) -> int:
        """How many of a room's latest messages a client gets when it joins."""
        return int(self._get("CHAT_HISTORY"))

    @property
    def CHAT_MESSAGE_MAX_LENGTH(self) -> int:
        return int(self._get("CHAT_MESSAGE_MAX_LENGTH"))

    @property
    def CHAT_SEND_RATE(self) -> float:
        """Messages a user may send per second, on average (a token bucket)."""
        return float(self._get("CHAT_SEND_RATE"))

    @property
    def CHAT_SEND_BURST(self) -> int:
        return int(self._get("CHAT_SEND_BURST"))

    @property
    def CHAT_TYPING_INTERVAL(self) -> float:
        """A user's typing indicator in a room goes out at most once per this many seconds;
        clients let it expire after three of them."""
        return float(self._get("CHAT_TYPING_INTERVAL"))

    @property
    def PRESENCE_TTL(self) -> float:
        """Seconds a connection's presence entry lives unless its process refreshes it: the
        users of a process that died leave within PRESENCE_TTL + PRESENCE_SWEEP_INTERVAL."""
        return float(self._get("PRESENCE_TTL"))

    @property
    def PRESENCE_REFRESH(self) -> float:
        """How often each process renews the entries of all its connections (well below
        PRESENCE_TTL)."""
        return float(self._get("PRESENCE_REFRESH"))

    @property
    def PRESENCE_SWEEP_INTERVAL(self) -> float:
        """How often each process turns expired entries into `presence.leave` events."""
        return float(self._get("PRESENCE_SWEEP_INTERVAL"))

    @property
    def PRESENCE_GRACE(self) -> float:
        """Seconds a closed connection still counts, so that a reload does not flap."""
        return float(self._get("PRESENCE_GRACE"))

    @property
    def PRESENCE_REDIS_URL(self) -> str | None:
        """Where presence lives; by default the first host of a channels-redis layer, and in
        this process's memory without one."""
        value = self._get("PRESENCE_REDIS_URL")
        return None if value is None else str(value)


app_settings = Settings()
