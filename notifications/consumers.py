"""The WebSocket transport: a consumer base over the shared connection core."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from channels.db import aclose_old_connections
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer

from notifications import kinds
from notifications.conf import app_settings
from notifications.connection import Connection, FrameRefused
from notifications.flushing import Flusher
from notifications.limits import TokenBucket
from notifications.middleware import CREDENTIAL_SCOPE_KEY
from notifications.policy import StreamNotFound, get_policy
from notifications.streams import InvalidStream
from notifications.subscriptions import Forbidden, NotAuthenticated
from notifications.wire import PROTOCOL_VERSION, SUBPROTOCOL, Control, control, websocket_frame

logger = logging.getLogger("notifications")

CLOSE_SESSION_ENDED = 1008
CLOSE_SESSION_ENDED_FALLBACK = 4008
CLOSE_HEARTBEAT_TIMEOUT = 4408
CLOSE_TOO_SLOW = 4429
CLOSE_TOO_MANY_CONNECTIONS = 4430
CLOSE_RATE_LIMITED = 4431

FRAME_TYPE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*")
PROTOCOL_FRAMES = frozenset({"subscribe", "unsubscribe", "ping", "pong"})


@dataclass(slots=True)
class Frame:
    """The client frame being handled: errors sent while handling it carry its client_id."""

    client_id: str | None
    failed: bool = False
    reply: dict[str, Any] | None = None


_current_frame: ContextVar[Frame | None] = ContextVar("notifications_frame", default=None)


def first_heartbeat(interval: float) -> float:
    """A connection's first heartbeat comes at a random point of the second half of the interval:
    connections opened together (after a restart, say) then never ping and pong all at once."""
    return interval * random.uniform(0.5, 1.0)


class LiveConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Streams events over a WebSocket. Subclass it and add `handle_<type>` methods for your
    own client frames (`{"type": "chat.send"}` calls `handle_chat_send(content)`); frame types
    registered by a stream kind go to that kind's handler. A frame with a `client_id` is
    answered with `ack` once its handler returns without `send_error`; the fields of a dict a
    kind's handler returns go into the `ack`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection: Connection | None = None
        self.flush_pending = False
        self._flushing = False
        self._flusher: Flusher | None = None
        self._window = app_settings.MAX_UNACKED_BYTES
        self._closed = False
        self._sent_bytes = 0
        self._acked_bytes = 0
        self._ping_id = 0
        self._ping_mark: int | None = None
        self._ping_sent_at = 0.0
        self._ping_due = False
        self._heartbeat: asyncio.TimerHandle | None = None
        self._closing: asyncio.Task[None] | None = None
        self._url_streams: list[str] = []
        self._url_since: str | None = None
        self._frames = TokenBucket(app_settings.FRAME_RATE, app_settings.FRAME_BURST)
        self._strikes = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Like Channels' consumer, minus a private layer channel per connection: events come
        from the process's hub, so an idle connection holds no layer receive and no extra task."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            self._shutdown()

    async def dispatch(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        """Refuse the handshake (HTTP 403) unless the policy lets the user connect and read
        every stream named in the URL (`?stream=a&stream=b`, with `since` for a single one)."""
        user = self.scope.get("user")
        if user is None or not await get_policy().acan_connect(user):
            await self.close()
            return
        connection = Connection(
            user,
            self._wake_writer,
            credential=self.scope.get(CREDENTIAL_SCOPE_KEY),
            on_end=self._on_end,
        )
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        streams = query.get("stream", [])[: app_settings.MAX_SUBSCRIPTIONS]
        for stream in streams:
            try:
                self._url_streams.append(await connection.authorize(stream))
            except (InvalidStream, NotAuthenticated, Forbidden):
                await self.close()
                return
        if len(streams) == 1:
            self._url_since = query.get("since", [None])[0]
        if not connection.open():
            await super().accept(self._subprotocol())
            await self.close(CLOSE_TOO_MANY_CONNECTIONS)
            return
        self.connection = connection
        await self.connect()

    async def connect(self) -> None:
        """Accept the socket; override to add checks, then call `super().connect()` or close."""
        await self.accept()

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        """Accept, greet, start the heartbeat and subscribe the URL's streams."""
        await super().accept(subprotocol or self._subprotocol(), headers)
        self.outbox.push_control(
            Control(
                "welcome",
                {"protocol": PROTOCOL_VERSION, "heartbeat": app_settings.HEARTBEAT_INTERVAL},
            )
        )
        self._arm_heartbeat(first_heartbeat(app_settings.HEARTBEAT_INTERVAL))
        for stream in self._url_streams:
            self._subscribe(stream, self._url_since)

    @property
    def outbox(self) -> Any:
        assert self.connection is not None
        return self.connection.outbox

    def _subprotocol(self) -> str | None:
        offered = self.scope.get("subprotocols") or []
        return SUBPROTOCOL if SUBPROTOCOL in offered else None

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        if self.connection is None or self._closed:
            return
        text = message.get("text")
        if text is None:
            await self.send_error("binary_unsupported", "Frames must be JSON text.")
            return
        if len(text) > app_settings.MAX_FRAME_BYTES:
            await self.send_error(
                "frame_too_large", f"Frames are limited to {app_settings.MAX_FRAME_BYTES} bytes."
            )
            return
        try:
            content = json.loads(text)
        except (ValueError, RecursionError):
            await self.send_error("invalid_json", "The frame is not valid JSON.")
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if not isinstance(kind, str) or not FRAME_TYPE.fullmatch(kind):
            await self.send_error("invalid_frame", 'A frame is a JSON object with a "type".')
            return
        client_id = content.get("client_id")
        if client_id is not None and not (isinstance(client_id, str) and 0 < len(client_id) <= 100):
            await self.send_error(
                "invalid_frame", "client_id must be a string of 1-100 characters."
            )
            return
        frame = Frame(client_id)
        token = _current_frame.set(frame)
        try:
            if kind != "pong" and not self._within_rate(kind):
                return
            if kind not in PROTOCOL_FRAMES:
                await aclose_old_connections()
            await self.receive_json(content)
        except Exception:
            logger.exception("Error handling a %r frame.", kind)
            await self.send_error("internal_error", f"The {kind!r} frame failed.")
        finally:
            _current_frame.reset(token)
            if client_id is not None and not frame.failed and kind not in PROTOCOL_FRAMES:
                reply = frame.reply or {}
                self.outbox.push_control(Control("ack", {**reply, "client_id": client_id}))

    def _within_rate(self, kind: str) -> bool:
        assert self.connection is not None
        user = self.connection.user_key
        allowed = self._frames.take() and (
            user is None or self.connection.hub.user_bucket(user).take()
        )
        if allowed:
            self._strikes = 0
            return True
        self._strikes += 1
        if self._strikes > app_settings.FRAME_BURST:
            self._close_soon(CLOSE_RATE_LIMITED)
            return False
        retry_after = self._frames.retry_after()
        if user is not None:
            retry_after = max(retry_after, self.connection.hub.user_bucket(user).retry_after())
        self._send_error_now(
            "rate_limited",
            f"Too many frames; the {kind!r} frame was dropped.",
            retry_after=round(retry_after, 3),
        )
        return False

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        """Dispatch a frame to `handle_<type>`, else to the handler a stream kind registered."""
        kind = content["type"]
        handler = getattr(self, "handle_" + kind.replace(".", "_"), None)
        if handler is not None:
            await handler(content)
            return
        registered = kinds.frame_handler(kind)
        if registered is None:
            await self.send_error("unknown_type", f"Unknown frame type {kind!r}.")
            return
        assert self.connection is not None
        try:
            reply = await registered(self.connection, content)
        except FrameRefused as refusal:
            await self.send_error(refusal.code, refusal.message, **refusal.fields)
            return
        frame = _current_frame.get()
        if frame is not None and isinstance(reply, dict):
            frame.reply = reply

    async def handle_subscribe(self, content: dict[str, Any]) -> None:
        assert self.connection is not None
        stream = content.get("stream")
        try:
            key = await self.connection.authorize(stream)
        except InvalidStream as error:
            await self.send_error("invalid_stream", str(error), stream=stream)
            return
        except StreamNotFound:
            await self.send_error("not_found", "No such stream.", stream=stream)
            return
        except (NotAuthenticated, Forbidden):
            await self.send_error("forbidden", "You may not read this stream.", stream=stream)
            return
        subscriptions = self.connection.subscriptions
        if key not in subscriptions and len(subscriptions) >= app_settings.MAX_SUBSCRIPTIONS:
            await self.send_error("too_many_subscriptions", "Too many subscriptions.", stream=key)
            return
        self._subscribe(key, content.get("since"))

    async def handle_unsubscribe(self, content: dict[str, Any]) -> None:
        stream = content.get("stream")
        if isinstance(stream, str) and self.connection is not None:
            self.connection.unsubscribe(stream)
        self.outbox.push_control(Control("unsubscribed", {"stream": stream}))

    async def handle_ping(self, content: dict[str, Any]) -> None:
        self.outbox.push_control(Control("pong", {"id": content.get("id")}))

    async def handle_pong(self, content: dict[str, Any]) -> None:
        if content.get("id") != self._ping_id or self._ping_mark is None:
            return
        self._acked_bytes = self._ping_mark
        self._ping_mark = None
        self._arm_heartbeat(app_settings.HEARTBEAT_INTERVAL)
        if self.outbox.items:
            self._wake_writer()

    async def send_error(self, code: str, message: str, **fields: Any) -> None:
        """Answer a bad frame with an `error` frame (carrying the frame's `client_id`, which
        is then not acknowledged); the connection stays open."""
        self._send_error_now(code, message, **fields)

    def _send_error_now(self, code: str, message: str, **fields: Any) -> None:
        frame = _current_frame.get()
        if frame is not None and frame.client_id is not None:
            fields.setdefault("client_id", frame.client_id)
            frame.failed = True
        if self.connection is not None:
            self.outbox.push_control(Control("error", {"code": code, "message": message, **fields}))

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self._shutdown()
        await self.disconnect(message.get("code", 1000))
        raise StopConsumer()

    async def disconnect(self, code: int) -> None:
        """Called when the socket closed, after the subscriptions ended."""

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        self._shutdown()
        try:
            await super().close(code, reason)
        except Exception:
            if code != CLOSE_SESSION_ENDED:
                raise
            await super().close(CLOSE_SESSION_ENDED_FALLBACK, reason)

    def _subscribe(self, stream: str, since: object) -> None:
        assert self.connection is not None
        self.connection.subscribe(stream, since)

    def _on_end(self, reason: str) -> None:
        self._close_soon(CLOSE_SESSION_ENDED)

    def _shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.connection is not None:
            self.connection.close()
        if self._heartbeat is not None:
            self._heartbeat.cancel()

    def _wake_writer(self) -> None:
        if self._closed or self.connection is None:
            return
        if self.outbox.overflowed:
            self._close_soon(CLOSE_TOO_SLOW)
            return
        if self._flusher is None:
            self._flusher = self.connection.hub.flusher
        self._flusher.schedule(self)

    def _close_soon(self, code: int) -> None:
        if not self._closed and self._closing is None:
            self._shutdown()
            self._closing = asyncio.get_running_loop().create_task(self.close(code))

    async def flush(self) -> None:
        """Send what is queued: one frame per item when idle, one array frame of all queued
        items under load; stop while MAX_UNACKED_BYTES await the client's pong."""
        if self._flushing:
            return
        self._flushing = True
        try:
            while not self._closed:
                if self._ping_due:
                    await self._send_ping()
                    continue
                if not self.outbox.items or self._sent_bytes - self._acked_bytes >= self._window:
                    return
                if not await self._send_text(websocket_frame(self.outbox.take())):
                    return
                if (
                    self._ping_mark is None
                    and self._sent_bytes - self._acked_bytes >= self._window // 2
                ):
                    self._ping_due = True
        finally:
            self._flushing = False

    async def _send_ping(self) -> None:
        self._ping_due = False
        if self._ping_mark is not None:
            return
        self._ping_id += 1
        self._ping_mark = self._sent_bytes
        self._ping_sent_at = time.monotonic()
        self._arm_heartbeat(app_settings.HEARTBEAT_TIMEOUT)
        await self._send_text(control("ping", id=self._ping_id))

    async def _send_text(self, text: str) -> bool:
        try:
            await self.base_send({"type": "websocket.send", "text": text})
        except Exception:
            self._shutdown()
            return False
        self._sent_bytes += len(text)
        return True

    def _arm_heartbeat(self, delay: float) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if not self._closed:
            self._heartbeat = asyncio.get_running_loop().call_later(delay, self._on_heartbeat)

    def _on_heartbeat(self) -> None:
        if self._ping_mark is not None:
            waited = time.monotonic() - self._ping_sent_at
            if waited >= app_settings.HEARTBEAT_TIMEOUT:
                self._close_soon(CLOSE_HEARTBEAT_TIMEOUT)
            else:
                self._arm_heartbeat(app_settings.HEARTBEAT_TIMEOUT - waited)
            return
        self._ping_due = True
        self._wake_writer()
