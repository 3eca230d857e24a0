"""WebSocket routes. In your asgi.py:

application = ProtocolTypeRouter({
    "http": get_asgi_application(),
    "websocket": websocket_application(),
})
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from notifications.consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi(), name="live"),
]


def websocket_application(urlpatterns: list[Any] | None = None) -> Any:
    """The WebSocket routes wrapped in origin validation (ALLOWED_HOSTS) and session auth."""
    routes = websocket_urlpatterns if urlpatterns is None else urlpatterns
    return AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(routes)))
