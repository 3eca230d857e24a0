"""One client connection, whichever transport carries it: who it is, one outbox and its
subscriptions. The WebSocket consumer and the SSE view are thin adapters over it."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import os
import secrets
import socket
from collections.abc import Callable

from notifications import kinds
from notifications.auth import END_EVENT, Credential
from notifications.hub import Hub, get_hub
from notifications.streams import User
from notifications.subscriptions import Cursor, Outbox, Subscription, authorize, parse_cursor
from notifications.wire import Control, LiveEvent

logger = logging.getLogger("notifications")


class Connection:
    """Authorize -> outbox -> subscription -> start, for any transport. `on_ready` is called
    when the outbox has something to send, `on_end(reason)` when the server ends the
    connection (logout, an expired session, a revoked account). `id` is unique across
    processes and hosts."""

    __slots__ = (
        "_entered",
        "_starting",
        "_watch",
        "_watching",
        "closed",
        "credential",
        "ended",
        "hub",
        "id",
        "on_end",
        "outbox",
        "subscriptions",
        "user",
    )

    def __init__(
        self,
        user: User,
        on_ready: Callable[[], None] | None = None,
        *,
        credential: Credential | None = None,
        on_end: Callable[[str], None] | None = None,
        limit: int | None = None,
        hub: Hub | None = None,
    ) -> None:
        self.id = f"{process_id()}:{next(_numbers)}"
        self.user = user
        self.credential = credential
        self.on_end = on_end
        self.outbox = Outbox(on_ready or _nothing, limit)
        self.hub = hub or get_hub()
        self.subscriptions: dict[str, Subscription] = {}
        self.ended: str | None = None
        self.closed = False
        self._starting: dict[str, asyncio.Task[None]] = {}
        self._entered: dict[str, kinds.StreamKind] = {}
        self._watch: _SessionWatch | None = None
        self._watching: asyncio.Task[None] | None = None

    @property
    def on_ready(self) -> Callable[[], None]:
        return self.outbox.on_ready

    @on_ready.setter
    def on_ready(self, on_ready: Callable[[], None]) -> None:
        self.outbox.on_ready = on_ready

    @property
    def user_key(self) -> str | None:
        return str(self.user.pk) if self.user.is_authenticated else None

    def open(self) -> bool:
        """Register with the process; False if the user already has too many connections."""
        if not self.hub.add_connection(self):
            return False
        address = self.credential.address if self.credential is not None else None
        if address is not None:
            self._watch = _SessionWatch(address, self)
            self._watching = _start_in_background(self._watch_session(self._watch))
            self._watching.add_done_callback(self._forget_watching)
        return True

    async def authorize(self, stream: object) -> str:
        """The validated key, if the policy lets this connection's user read it."""
        return await authorize(self.user, stream)

    def subscribe(self, stream: str, since: object, *, announce: bool = True) -> asyncio.Task[None]:
        """Start reading an authorized stream after `since`. With `announce`, the reader gets
        `subscribed` once the replay is done, or an `unavailable` error."""
        self.unsubscribe(stream)
        subscription = Subscription(stream, self.outbox, self.hub)
        self.subscriptions[stream] = subscription
        task = _start_in_background(self._start(subscription, parse_cursor(since), announce))
        self._starting[stream] = task
        return task

    def unsubscribe(self, stream: str) -> None:
        task = self._starting.pop(stream, None)
        if task is not None:
            task.cancel()
        subscription = self.subscriptions.pop(stream, None)
        if subscription is not None:
            subscription.close()
        kind = self._entered.pop(stream, None)
        if kind is not None and kind.on_leave is not None:
            self._call(kind.on_leave, stream)

    def end(self, reason: str) -> None:
        """Stop delivering at once, then let the transport close."""
        if self.closed:
            return
        self.ended = reason
        self.close()
        if self.on_end is not None:
            self.on_end(reason)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for stream in list(self.subscriptions):
            self.unsubscribe(stream)
        if self._watch is not None:
            self.hub.leave(self._watch)
            self._watch = None
        if self._watching is not None:
            self._watching.cancel()
        self.hub.remove_connection(self)

    async def _watch_session(self, watch: _SessionWatch) -> None:
        try:
            await self.hub.join(watch)
        except BaseException:
            self.hub.leave(watch)
            raise

    def _enter(self, stream: str) -> None:
        kind = kinds.kind_of(stream)
        if kind is None or (kind.on_enter is None and kind.on_leave is None):
            return
        self._entered[stream] = kind
        if kind.on_enter is not None:
            self._call(kind.on_enter, stream)

    def _call(self, hook: kinds.ConnectionHook, stream: str) -> None:
        try:
            hook(self, stream)
        except Exception:
            logger.exception("A hook of %s failed.", stream)

    def _forget_watching(self, task: asyncio.Task[None]) -> None:
        if self._watching is task:
            self._watching = None

    async def _start(self, subscription: Subscription, since: Cursor, announce: bool) -> None:
        stream = subscription.stream
        try:
            await subscription.start(since)
            if announce:
                self.outbox.push_control(
                    Control("subscribed", {"stream": stream, "seq": subscription.cursor})
                )
            if not self.closed and self.subscriptions.get(stream) is subscription:
                self._enter(stream)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("Could not subscribe to %s.", stream)
            if self.subscriptions.get(stream) is subscription:
                del self.subscriptions[stream]
            if announce:
                self.outbox.push_control(
                    Control(
                        "error",
                        {
                            "code": "unavailable",
                            "message": "The stream is unavailable; retry later.",
                            "stream": stream,
                        },
                    )
                )
            raise
        finally:
            if self._starting.get(stream) is asyncio.current_task():
                del self._starting[stream]


def _nothing() -> None:
    pass


_numbers = itertools.count(1)
_process: tuple[int, str] | None = None


def process_id() -> str:
    """`<host>:<pid>:<random>`: this process, told apart from every other one (and from an
    earlier process that had the same pid)."""
    global _process
    pid = os.getpid()
    if _process is None or _process[0] != pid:
        _process = (pid, f"{socket.gethostname()}:{pid}:{secrets.token_hex(4)}")
    return _process[1]


class _SessionWatch:
    """Listens on the session's address for the end of the login session."""

    __slots__ = ("connection", "stream")

    def __init__(self, stream: str, connection: Connection) -> None:
        self.stream = stream
        self.connection = connection

    def deliver(self, event: LiveEvent) -> None:
        if event.type == END_EVENT:
            self.connection.end("session_ended")

    def deliver_run(self, events: list[LiveEvent]) -> None:
        for event in events:
            self.deliver(event)


def _start_in_background(coroutine: object) -> asyncio.Task[None]:
    """Subscription work runs in a fresh context: never inside the frame or request that
    started it, whose per-frame state it must not see."""
    task: asyncio.Task[None] = asyncio.get_running_loop().create_task(
        coroutine,  # type: ignore[arg-type]
        context=contextvars.Context(),
    )
    task.add_done_callback(_consume_error)
    return task


def _consume_error(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()


class FrameRefused(Exception):
    """Raised by a frame handler to refuse the frame: the client gets an `error` frame with
    `code`, `message` and `fields` (and the frame's client_id, which is not acknowledged)."""

    def __init__(self, code: str, message: str, **fields: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields
