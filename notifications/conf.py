from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "STREAM_POLICY": "notifications.streams.DefaultStreamPolicy",
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


app_settings = Settings()
