"""The SSE transport: an async view base over the subscription core."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import SyncToAsync
from django.db import connections
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.views import View

from notifications.conf import app_settings
from notifications.models import Event
from notifications.streams import InvalidStream
from notifications.subscriptions import (
    Control,
    Cursor,
    Forbidden,
    Item,
    NotAuthenticated,
    Outbox,
    Subscription,
    authorize,
    parse_cursor,
)
from notifications.wire import LiveEvent, dumps, encode_sse

logger = logging.getLogger("notifications")


class StreamView(View):
    """Serves one stream as `text/event-stream`. `id:` is the seq, so the browser's
    `Last-Event-ID` (or `?since=`) resumes it. Refused streams get 401, 403 or 404.
    `?named=0` leaves out `event:` lines (every event reaches `onmessage`) and sends keep-alives
    as `{"type": "ping"}` messages a client can time out on."""

    http_method_names = ["get"]
    terminal_events: tuple[str, ...] = ()
    """Event types that finish the stream: the response ends after one, and a reader at or
    past it (or without a cursor) gets 204 No Content, which stops browsers retrying."""

    def get_stream(self, request: HttpRequest, **kwargs: Any) -> str:
        """The stream to serve; by default the `stream` URL argument."""
        return str(kwargs.get("stream", ""))

    async def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        user = request.user = await request.auser()
        try:
            stream = await authorize(user, self.get_stream(request, **kwargs))
        except InvalidStream as error:
            return _refusal(404, "invalid_stream", str(error))
        except NotAuthenticated:
            return _refusal(401, "not_authenticated", "Log in to read this stream.")
        except Forbidden:
            return _refusal(403, "forbidden", "You may not read this stream.")
        cursor = parse_cursor(request.headers.get("Last-Event-ID") or request.GET.get("since"))
        if self.terminal_events and await self.is_finished(stream, cursor):
            return HttpResponse(status=204)
        named = request.GET.get("named") != "0"
        response = StreamingHttpResponse(
            self.events(stream, cursor, named=named), content_type="text/event-stream"
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        response["Content-Encoding"] = "identity"
        return response

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

    async def is_finished(self, stream: str, cursor: Cursor) -> bool:
        """Whether the stream ended with a terminal event the reader has already seen."""
        last = (
            await Event.objects.filter(stream=stream)
            .order_by("-seq")
            .values_list("seq", "type")
            .afirst()
        )
        if last is None or last[1] not in self.terminal_events:
            return False
        return cursor is None or (isinstance(cursor, int) and cursor >= last[0])

    async def events(
        self, stream: str, since: Cursor, *, named: bool = True
    ) -> AsyncIterator[bytes]:
        """Replay after the cursor, then live events, with keep-alive comments when idle.
        The response ends (and the browser resumes) if the reader falls too far behind."""
        release_request_thread()
        self.release_request(self.request)
        wakeup = Wakeup()
        outbox = Outbox(wakeup.set)
        subscription = Subscription(stream, outbox)
        starting: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(
            subscription.start(since), context=contextvars.Context()
        )
        keepalive = app_settings.SSE_KEEPALIVE
        budget = app_settings.SSE_MAX_BYTES
        try:
            yield encode_sse(retry=app_settings.SSE_RETRY, comment="stream " + stream)
            while not outbox.overflowed:
                items = outbox.take()
                if items:
                    chunk = b"".join(encode_item(item, named) for item in items)
                    yield chunk
                    budget -= len(chunk)
                    if budget <= 0 or self._has_terminal(items):
                        return
                    continue
                if starting is not None and starting.done():
                    if not starting.cancelled() and starting.exception():
                        logger.error(
                            "Could not subscribe to %s.", stream, exc_info=starting.exception()
                        )
                        return
                    starting = None
                if not await wakeup.wait(keepalive):
                    yield KEEPALIVE if named else KEEPALIVE_MESSAGE
        finally:
            if starting is not None:
                starting.cancel()
            subscription.close()

    def _has_terminal(self, items: list[Item]) -> bool:
        return bool(self.terminal_events) and any(
            isinstance(item, LiveEvent) and item.type in self.terminal_events for item in items
        )


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


def release_request_thread() -> None:
    """Django serves each request in a ThreadSensitiveContext whose first sync call (session,
    auth) starts a thread that lives as long as the request. An event stream lives for hours
    and needs no thread of its own: close its database connections and shut it down (another is
    made if the request needs one).
    A context given its executor (`routing.http_application`) owns it and is left alone."""
    context = SyncToAsync.thread_sensitive_context.get(None)
    if context is None or getattr(context, "_executor", None) is not None:
        return
    executor = SyncToAsync.context_to_thread_executor.pop(context, None)
    if executor is not None:
        executor.submit(connections.close_all)
        executor.shutdown(wait=False)


KEEPALIVE = b": keep-alive\n\n"
KEEPALIVE_MESSAGE = encode_sse(data=dumps({"type": "ping"}))


def encode_item(item: Item, named: bool = True) -> bytes:
    if isinstance(item, LiveEvent):
        return item.sse if named else item.sse_unnamed
    assert isinstance(item, Control)
    return encode_sse(
        id=item.fields.get("seq"),
        event=item.type if named else None,
        data=dumps({"type": item.type, **item.fields}),
    )


def _refusal(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)
