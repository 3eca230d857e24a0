"""The SSE transport: an async view base over the shared connection core."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from notifications.auth import Credential, token_response, user_from_token
from notifications.conf import app_settings
from notifications.connection import Connection
from notifications.hub import get_hub
from notifications.log import aread_heads, aread_last_event
from notifications.policy import StreamNotFound, get_policy
from notifications.streams import InvalidStream, User
from notifications.subscriptions import (
    Cursor,
    Forbidden,
    Item,
    NotAuthenticated,
    authorize,
    parse_cursor,
)
from notifications.wire import (
    SSE_KEEPALIVE,
    SSE_KEEPALIVE_MESSAGE,
    Control,
    LiveEvent,
    encode_sse,
    sse_message,
)

logger = logging.getLogger("notifications")

SHARED_THREAD_SCOPE_KEY = "notifications.shared_thread"


class StreamView(View):
    """Serves one stream as `text/event-stream`. `id:` is the seq, so the browser's
    `Last-Event-ID` (or `?since=`) resumes it. Refused streams get 401, 403 or 404; a user over
    MAX_CONNECTIONS_PER_USER gets 429. `?named=0` leaves out `event:` lines (every event
    reaches `onmessage`) and sends keep-alives as `{"type": "ping"}` messages a client can
    time out on. `?token=` or `Authorization: Bearer <token>` authenticates without a session."""

    http_method_names = ["get"]
    terminal_events: frozenset[str] | None = None
    """Event types that finish the stream (by default its kind's): the response ends after
    one, and a reader at or past it (or without a cursor) gets 204 No Content, which stops
    browsers retrying."""

    def get_stream(self, request: HttpRequest, **kwargs: Any) -> str:
        """The stream to serve; by default the `stream` URL argument."""
        return str(kwargs.get("stream", ""))

    def get_terminal_events(self, stream: str) -> frozenset[str]:
        if self.terminal_events is not None:
            return frozenset(self.terminal_events)
        return get_policy().terminal_events(stream)

    async def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        user, credential = await self.authenticate(request)
        try:
            stream = await authorize(user, self.get_stream(request, **kwargs))
        except InvalidStream as error:
            return _refusal(404, "invalid_stream", str(error))
        except NotAuthenticated:
            return _refusal(401, "not_authenticated", "Log in to read this stream.")
        except StreamNotFound:
            return _refusal(404, "not_found", "No such stream.")
        except Forbidden:
            return _refusal(403, "forbidden", "You may not read this stream.")
        cursor = self.get_cursor(request)
        terminal = self.get_terminal_events(stream)
        if terminal and await is_finished(stream, cursor, terminal):
            return HttpResponse(status=204)
        if not get_hub().has_room_for(user):
            return _refusal(429, "too_many_connections", "Too many open connections.")
        if not request.scope.get(SHARED_THREAD_SCOPE_KEY):  # type: ignore[attr-defined]
            _warn_thread_per_stream()
        if cursor is None:
            # "From now" is from before the response starts: what is published once the
            # client sees the stream open is never behind its cursor.
            cursor = (await aread_heads([stream])).get(stream, 0)
        connection = Connection(user, credential=credential)
        named = request.GET.get("named") != "0"
        response = StreamingHttpResponse(
            self.events(connection, stream, cursor, named=named, terminal=terminal),
            content_type="text/event-stream",
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        response["Content-Encoding"] = "identity"
        for name, value in self.get_response_headers().items():
            response[name] = value
        return response

    def get_cursor(self, request: HttpRequest) -> Cursor:
        """Where to resume: `Last-Event-ID`, else `?since=`; None means "from now"."""
        return parse_cursor(request.headers.get("Last-Event-ID") or request.GET.get("since"))

    def get_response_headers(self) -> dict[str, str]:
        """Headers added to the event-stream response."""
        return {}

    def opening(self, stream: str) -> bytes:
        """The first bytes of the response."""
        return encode_sse(retry=app_settings.SSE_RETRY, comment="stream " + stream)

    def encode(self, items: list[Item], named: bool) -> bytes:
        """The bytes of a batch of events and controls; override for another wire format."""
        return b"".join(sse_message(item, named) for item in items)

    def closing(self, reason: str | None, named: bool) -> bytes:
        """The last bytes: after a terminal event (`reason` None), or when the server ended
        the connection (`reason` says why)."""
        if reason is None:
            return b""
        return sse_message(Control("ended", {"reason": reason}), named)

    async def authenticate(self, request: HttpRequest) -> tuple[User, Credential | None]:
        """The user: from a token (`?token=` or `Authorization: Bearer`) if one is given,
        else from Django's authentication middleware (the session)."""
        token = _bearer_token(request)
        if token is not None:
            user, credential = await sync_to_async(user_from_token)(token)
            request.user = user  # type: ignore[assignment]
            return user, credential
        user = request.user = await request.auser()
        session_key = getattr(getattr(request, "session", None), "session_key", None)
        credential = (
            Credential("session", str(user.pk), session_key)
            if user.is_authenticated and session_key
            else None
        )
        return user, credential

    released_request_attributes: tuple[str, ...] = (
        "META",
        "headers",
        "COOKIES",
        "GET",
        "session",
        "_messages",
        "resolver_match",
        "_stream",
        "scope",
    )

    def release_request(self, request: HttpRequest) -> None:
        """Once the stream starts, drop what the request no longer needs (`released_request_
        attributes`): a stream lives for hours and all middleware has run. `method`, `path`
        and `user` stay. Override to keep more."""
        for name in self.released_request_attributes:
            request.__dict__.pop(name, None)

    async def events(
        self,
        connection: Connection,
        stream: str,
        since: Cursor,
        *,
        named: bool = True,
        terminal: frozenset[str] = frozenset(),
    ) -> AsyncIterator[bytes]:
        """Replay after the cursor, then live events, with keep-alives when idle. The
        response ends (and the browser resumes) if the reader falls too far behind, and when
        the server ends the connection (logout)."""
        wakeup = Wakeup()
        connection.on_ready = wakeup.set
        connection.on_end = lambda reason: wakeup.set()
        self.release_request(self.request)
        try:
            if not connection.open():
                return
            starting: asyncio.Task[None] | None = connection.subscribe(
                stream, since, announce=False
            )
            keepalive = app_settings.SSE_KEEPALIVE
            budget = app_settings.SSE_MAX_BYTES
            yield self.opening(stream)
            while not connection.outbox.overflowed and connection.ended is None:
                items = connection.outbox.take()
                if items:
                    chunk = self.encode(items, named)
                    yield chunk
                    budget -= len(chunk)
                    if _has_terminal(items, terminal):
                        if closing := self.closing(None, named):
                            yield closing
                        return
                    if budget <= 0:
                        return
                    continue
                if starting is not None and starting.done():
                    if not starting.cancelled() and starting.exception():
                        return
                    starting = None
                if not await wakeup.wait(keepalive):
                    yield SSE_KEEPALIVE if named else SSE_KEEPALIVE_MESSAGE
            if connection.ended is not None:
                yield self.closing(connection.ended, named)
        finally:
            connection.close()


class TokenView(View):
    """`GET` a short-lived token for the logged-in user: `{"token", "expires_in"}`. Pages and
    apps that cannot send the session cookie connect with it (`?token=`)."""

    http_method_names = ["get"]

    @method_decorator(never_cache)
    @method_decorator(login_required)
    def get(self, request: HttpRequest) -> JsonResponse:
        assert request.user.is_authenticated
        return JsonResponse(token_response(request.user))


class Wakeup:
    """What an asyncio.Event does for one waiter, without its queue of waiters."""

    __slots__ = ("_future", "_set")

    def __init__(self) -> None:
        self._set = False
        self._future: asyncio.Future[None] | None = None

    def set(self) -> None:
        self._set = True
        if self._future is not None and not self._future.done():
            self._future.set_result(None)

    async def wait(self, timeout: float) -> bool:
        """True once set (and clears it), False after `timeout` seconds."""
        if not self._set:
            self._future = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await self._future
            except TimeoutError:
                return False
            finally:
                self._future = None
        self._set = False
        return True


async def is_finished(stream: str, cursor: Cursor, terminal: frozenset[str]) -> bool:
    """Whether the stream ended with a terminal event the reader has already seen."""
    last = await aread_last_event(stream)
    if last is None or last[1] not in terminal:
        return False
    return cursor is None or (isinstance(cursor, int) and cursor >= last[0])


def _bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    return request.GET.get("token") or None


def _has_terminal(items: list[Item], terminal: frozenset[str]) -> bool:
    return bool(terminal) and any(
        isinstance(item, LiveEvent) and item.type in terminal for item in items
    )


_warned = False


def _warn_thread_per_stream() -> None:
    global _warned
    if not _warned:
        _warned = True
        logger.warning(
            "Event streams are not served through notifications.routing.http_application: "
            "each open stream keeps a thread of its own. See docs/configuration.md."
        )


def _refusal(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)
