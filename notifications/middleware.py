"""ASGI middleware for the WebSocket routes: the exact origin check, and the user resolved
once at connect from the session cookie or a token (no wrapper around every send)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host

from notifications.auth import user_from_session, user_from_token
from notifications.conf import app_settings

CREDENTIAL_SCOPE_KEY = "notifications.credential"
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def query_token(scope: dict[str, Any]) -> str | None:
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    tokens = query.get("token")
    return tokens[0] if tokens else None


def normalize_origin(origin: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def request_scheme(scope: dict[str, Any]) -> str:
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name, secure_value = proxy
        forwarded = header(scope, name.removeprefix("HTTP_").replace("_", "-").lower().encode())
        if forwarded is not None:
            return "https" if forwarded.split(",")[0].strip() == secure_value else "http"
    return "https" if scope.get("scheme") in ("wss", "https") else "http"


def allowed_hosts() -> list[str]:
    """ALLOWED_HOSTS as Django's requests apply it (with DEBUG, empty means localhost)."""
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        return [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def allowed_origins(scope: dict[str, Any]) -> list[str]:
    """ALLOWED_ORIGINS if set; otherwise the request's own origin (its scheme and Host, if
    the host is in ALLOWED_HOSTS) and CSRF_TRUSTED_ORIGINS."""
    configured = app_settings.ALLOWED_ORIGINS
    if configured is not None:
        return configured
    origins = list(getattr(settings, "CSRF_TRUSTED_ORIGINS", []))
    host = header(scope, b"host")
    if host and validate_host(split_domain_port(host)[0], allowed_hosts()):
        origins.append(f"{request_scheme(scope)}://{host}")
    return origins


def origin_matches(origin: str, allowed: str) -> bool:
    """Exact scheme, host and port; `https://*.example.com` also matches its subdomains."""
    wanted = normalize_origin(origin)
    wildcard = "://*." in allowed
    pattern = normalize_origin(allowed.replace("://*.", "://", 1))
    if wanted is None or pattern is None:
        return False
    if wildcard:
        same_scheme_and_port = (wanted[0], wanted[2]) == (pattern[0], pattern[2])
        return same_scheme_and_port and wanted[1].endswith("." + pattern[1])
    return wanted == pattern


class OriginValidator:
    """Refuses (HTTP 403) a WebSocket whose Origin is not exactly an allowed scheme, host and
    port. Connections that authenticate with a token carry no ambient credentials and pass."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and query_token(scope) is None:
            origin = header(scope, b"origin")
            if origin is None or not any(
                origin_matches(origin, allowed) for allowed in allowed_origins(scope)
            ):
                await receive()
                await send({"type": "websocket.close", "code": 1008})
                return
        await self.application(scope, receive, send)


class LiveAuthMiddleware:
    """Puts `user` (and `session` for cookie logins) in the scope, resolved once: from
    `?token=` if given, else from the session cookie."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        token = query_token(scope)
        if token is not None:
            user, credential = await sync_to_async(user_from_token)(token)
            session = None
        else:
            cookies = parse_cookie(header(scope, b"cookie") or "")
            session_key = cookies.get(settings.SESSION_COOKIE_NAME)
            user, credential, session = await sync_to_async(user_from_session)(session_key)
        scope = {**scope, "user": user, CREDENTIAL_SCOPE_KEY: credential}
        if session is not None:
            scope["session"] = session
        await self.application(scope, receive, send)
