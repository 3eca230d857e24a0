import gc
import os

from django.core.asgi import get_asgi_application

# Thousands of long-lived connections make the collector's full passes slow (about 130 ms at
# 1,000 WebSockets on daphne); collecting young objects less often makes those passes rare.
# See docs/deployment.md.
gc.set_threshold(10_000, 10, 10)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from notifications.routing import http_application, websocket_application  # noqa: E402

if settings.DEBUG:
    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

application = ProtocolTypeRouter(
    {
        "http": http_application(django_asgi_app),
        "websocket": websocket_application(),
    }
)
