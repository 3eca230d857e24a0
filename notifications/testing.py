"""Helpers for tests of projects using this app."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from types import TracebackType
from typing import Any

from notifications.subscriptions import Control, Cursor, Outbox, Subscription, parse_cursor
from notifications.wire import LiveEvent

__all__ = ["StreamListener"]


class StreamListener:
    """Reads a stream in-process through the same core as the transports:

        async with StreamListener("user:1", since=0) as listener:
            await apublish("user:1", "hello", {"n": 1})
            message = await listener.next()
            assert message["event"] == "hello" and message["data"] == {"n": 1}

    Messages are the decoded wire objects: `{"type": "event", ...}` or `{"type": "resync", ...}`.
    """

    def __init__(self, stream: str, since: object = None, *, limit: int | None = None) -> None:
        self.stream = stream
        self.since: Cursor = parse_cursor(since)
        self._ready = asyncio.Event()
        self.outbox = Outbox(self._ready.set, limit)
        self._received: deque[dict[str, Any]] = deque()
        self.subscription: Subscription | None = None

    async def __aenter__(self) -> StreamListener:
        self.subscription = Subscription(self.stream, self.outbox)
        await self.subscription.start(self.since)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.subscription is not None:
            self.subscription.close()

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next message; raises TimeoutError if none arrives in time."""
        async with asyncio.timeout(timeout):
            while not self._received:
                self._ready.clear()
                for item in self.outbox.take():
                    self._received.append(_decode(item))
                if not self._received:
                    await self._ready.wait()
        return self._received.popleft()

    async def take(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        return [await self.next(timeout) for _ in range(count)]

    async def nothing_more(self, wait: float = 0.3) -> bool:
        """True if no message arrives within `wait` seconds."""
        try:
            await self.next(wait)
        except TimeoutError:
            return True
        return False


def _decode(item: LiveEvent | Control) -> dict[str, Any]:
    if isinstance(item, LiveEvent):
        decoded: dict[str, Any] = json.loads(item.payload)
        return decoded
    return {"type": item.type, **item.fields}
