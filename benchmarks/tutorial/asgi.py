"""The tutorial's `mysite/asgi.py`, on `project.settings` (same DB, same channel layer).

Serve it with: python -m daphne -b 127.0.0.1 -p 8001 benchmarks.tutorial.asgi:application
"""

import gc
import os

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
# The same collector tuning as project/asgi.py, so both servers run alike.
gc.set_threshold(10_000, 10, 10)
# Initialize Django ASGI application early to ensure the AppRegistry
# is populated before importing code that may import ORM models.
django_asgi_app = get_asgi_application()

from benchmarks.tutorial.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
