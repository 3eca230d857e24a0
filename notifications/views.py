"""The SSE transport: an async view base over the subscription core."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import SyncToAsync
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
        user = await request.auser()
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
        ready = asyncio.Event()
        outbox = Outbox(ready.set)
        subscription = Subscription(stream, outbox)
        starting = asyncio.get_running_loop().create_task(
            subscription.start(since), context=contextvars.Context()
        )
        keepalive = app_settings.SSE_KEEPALIVE
        budget = app_settings.SSE_MAX_BYTES
        try:
            yield encode_sse(retry=app_settings.SSE_RETRY, comment="stream " + stream)
            while not outbox.overflowed:
                ready.clear()
                items = outbox.take()
                if items:
                    chunk = b"".join(encode_item(item, named) for item in items)
                    yield chunk
                    budget -= len(chunk)
                    if budget <= 0 or self._has_terminal(items):
                        return
                    continue
                if starting.done() and not starting.cancelled() and starting.exception():
                    logger.error(
                        "Could not subscribe to %s.", stream, exc_info=starting.exception()
                    )
                    return
                try:
                    async with asyncio.timeout(keepalive):
                        await ready.wait()
                except TimeoutError:
                    yield KEEPALIVE if named else KEEPALIVE_MESSAGE
        finally:
            starting.cancel()
            subscription.close()

    def _has_terminal(self, items: list[Item]) -> bool:
        return bool(self.terminal_events) and any(
            isinstance(item, LiveEvent) and item.type in self.terminal_events for item in items
        )


def release_request_thread() -> None:
    """Django serves each request in a ThreadSensitiveContext whose first sync call (session,
    auth) starts a thread that lives as long as the request. An event stream lives for hours
    and needs no thread of its own: shut it down (another is made if the request needs one)."""
    context = SyncToAsync.thread_sensitive_context.get(None)
    if context is None:
        return
    executor = SyncToAsync.context_to_thread_executor.pop(context, None)
    if executor is not None:
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
