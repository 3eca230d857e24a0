"""The chat's per-user limits, the same whichever transport a message comes through."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from notifications.conf import app_settings
from notifications.limits import TokenBucket

REMEMBERED = 10_000


class Recent(OrderedDict[Any, Any]):
    """The values of the last REMEMBERED keys used: per-user limits that cannot grow without
    bound."""

    def put(self, key: Any, value: Any) -> Any:
        self.pop(key, None)
        self[key] = value
        while len(self) > REMEMBERED:
            self.popitem(last=False)
        return value

    def get_or_add(self, key: Any, make: Any) -> Any:
        value = self.get(key)
        return self.put(key, make() if value is None else value)


send_buckets = Recent()


def send_bucket(user_pk: Any) -> TokenBucket:
    """The user's allowance of messages (CHAT_SEND_RATE, CHAT_SEND_BURST) in this process,
    shared by the WebSocket frames and the REST API."""
    return send_buckets.get_or_add(  # type: ignore[no-any-return]
        user_pk, lambda: TokenBucket(app_settings.CHAT_SEND_RATE, app_settings.CHAT_SEND_BURST)
    )
