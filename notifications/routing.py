"""ASGI wiring. In your asgi.py:

application = ProtocolTypeRouter({
    "http": http_application(get_asgi_application()),
    "websocket": websocket_application(),
})
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from channels.routing import URLRouter
from django.urls import path

from notifications.consumers import LiveConsumer
from notifications.middleware import LiveAuthMiddleware, OriginValidator
from notifications.views import SHARED_THREAD_SCOPE_KEY

websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi(), name="live"),
]


def websocket_application(urlpatterns: list[Any] | None = None) -> Any:
    """The WebSocket routes behind the exact origin check and the user resolved at connect
    (session cookie or token)."""
    routes = websocket_urlpatterns if urlpatterns is None else urlpatterns
    return OriginValidator(LiveAuthMiddleware(URLRouter(routes)))


_stream_executor: ThreadPoolExecutor | None = None


def http_application(django_application: Any) -> Any:
    """Django's ASGI app, with event-stream requests (`Accept: text/event-stream`) sharing
    one thread for their synchronous parts (middleware, session, auth). Django otherwise starts
    a thread per request, which an open stream would keep for its whole life."""

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not _wants_event_stream(scope):
            await django_application(scope, receive, send)
            return
        async with ThreadSensitiveContext(executor=_shared_executor()):
            await django_application({**scope, SHARED_THREAD_SCOPE_KEY: True}, receive, send)

    return application


def _wants_event_stream(scope: dict[str, Any]) -> bool:
    return any(
        name == b"accept" and b"text/event-stream" in value for name, value in scope["headers"]
    )


def _shared_executor() -> ThreadPoolExecutor:
    global _stream_executor
    if _stream_executor is None:
        _stream_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="event-streams")
    return _stream_executor
