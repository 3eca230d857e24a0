import pytest
import websockets

from notifications.middleware import allowed_origins, origin_matches
from tests.clients import WebSocketClient


@pytest.mark.parametrize(
    ("origin", "allowed", "matches"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000", True),
        ("http://127.0.0.1:9999", "http://127.0.0.1:8000", False),
        ("https://127.0.0.1:8000", "http://127.0.0.1:8000", False),
        ("http://localhost:3000", "http://localhost:8000", False),
        ("https://example.com", "https://example.com:443", True),
        ("HTTPS://Example.COM", "https://example.com", True),
        ("https://app.example.com", "https://*.example.com", True),
        ("https://example.com", "https://*.example.com", False),
        ("https://evil-example.com", "https://*.example.com", False),
        ("http://app.example.com", "https://*.example.com", False),
        ("null", "http://127.0.0.1:8000", False),
        ("http://[::1", "http://127.0.0.1:8000", False),
    ],
)
def test_origins_match_exactly_by_scheme_host_and_port(origin, allowed, matches):
    assert origin_matches(origin, allowed) is matches


def scope(host, scheme="ws", extra=()):
    return {"type": "websocket", "scheme": scheme, "headers": [(b"host", host), *extra]}


def test_the_default_is_the_requests_own_origin_and_csrf_trusted_origins(settings):
    settings.ALLOWED_HOSTS = ["example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://admin.example.org"]
    assert allowed_origins(scope(b"example.com:8443", "wss")) == [
        "https://admin.example.org",
        "https://example.com:8443",
    ]
    assert allowed_origins(scope(b"attacker.test")) == ["https://admin.example.org"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = scope(b"example.com", "ws", [(b"x-forwarded-proto", b"https")])
    assert allowed_origins(proxied)[-1] == "https://example.com"
    settings.NOTIFICATIONS = {"ALLOWED_ORIGINS": ["https://app.example.com"]}
    assert allowed_origins(scope(b"example.com")) == ["https://app.example.com"]


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
async def test_only_the_exact_origin_opens_a_socket_with_the_users_cookies(daphne, make_user):
    _, session = await make_user("alice")
    server = daphne()
    for origin in [
        "http://127.0.0.1:9999",
        f"https://127.0.0.1:{server.port}",
        "http://localhost:3000",
        f"http://localhost:{server.port}",
    ]:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await WebSocketClient.connect(server.ws, session=session, origin=origin)
        assert refused.value.response.status_code == 403, origin
    own = await WebSocketClient.connect(server.ws, session=session)
    assert (await own.next("welcome"))["protocol"] == 1
    await own.close()


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
async def test_allowed_origins_admits_another_origin(daphne, make_user):
    _, session = await make_user("alice")
    server = daphne(NOTIFICATIONS_ALLOWED_ORIGINS="http://localhost:3000")
    spa = await WebSocketClient.connect(server.ws, session=session, origin="http://localhost:3000")
    assert (await spa.next("welcome"))["type"] == "welcome"
    await spa.close()
    with pytest.raises(websockets.InvalidStatus):
        await WebSocketClient.connect(server.ws, session=session)
