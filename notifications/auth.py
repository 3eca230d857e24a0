"""Who a connection is: its login session or a short-lived signed token, resolved once when it
connects and checked again every SESSION_REVALIDATE_INTERVAL. Logout ends a session's
connections at once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.core import signing
from django.utils.crypto import constant_time_compare

from notifications import delivery
from notifications.api import ephemeral_event
from notifications.conf import app_settings
from notifications.streams import User

TOKEN_SALT = "notifications.auth.token"
END_EVENT = "connection.end"


@dataclass(frozen=True, slots=True)
class Credential:
    """How a connection proved who it is: `method` "session" (`secret` is the session key)
    or "token" (`secret` is a digest of the user's session auth hash)."""

    method: str
    user_pk: str
    secret: str

    @property
    def address(self) -> str | None:
        """The stream that reaches this login session's connections."""
        return session_stream(self.secret) if self.method == "session" else None


def session_stream(session_key: str) -> str:
    return "session:" + hashlib.blake2b(session_key.encode(), digest_size=16).hexdigest()


def _auth_digest(user: AbstractBaseUser) -> str:
    return hashlib.blake2b(user.get_session_auth_hash().encode(), digest_size=16).hexdigest()


def load_session(session_key: str) -> SessionBase:
    engine = import_module(settings.SESSION_ENGINE)
    session: SessionBase = engine.SessionStore(session_key)
    return session


def user_from_session(session_key: str | None) -> tuple[User, Credential | None, Any]:
    """The session's user as Django's auth would see it on a request (expired sessions,
    changed passwords and inactive users give AnonymousUser), its credential, the session."""
    if not session_key:
        return AnonymousUser(), None, None
    session = load_session(session_key)
    user = auth.get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]
    if not user.is_authenticated:
        return user, None, session
    return user, Credential("session", str(user.pk), session_key), session


def issue_token(user: AbstractBaseUser) -> str:
    """A signed token for `user`, accepted by both transports for TOKEN_MAX_AGE seconds
    (`?token=`; SSE also takes `Authorization: Bearer`). A password change voids it."""
    return signing.dumps({"u": str(user.pk), "h": _auth_digest(user)}, salt=TOKEN_SALT)


def token_response(user: AbstractBaseUser) -> dict[str, Any]:
    """What the token endpoints answer: `{"token", "expires_in"}`."""
    return {"token": issue_token(user), "expires_in": app_settings.TOKEN_MAX_AGE}


def user_from_token(token: str) -> tuple[User, Credential | None]:
    try:
        payload = signing.loads(
            token, salt=TOKEN_SALT, max_age=timedelta(seconds=app_settings.TOKEN_MAX_AGE)
        )
    except signing.BadSignature:
        return AnonymousUser(), None
    if not isinstance(payload, dict):
        return AnonymousUser(), None
    user = _active_user(str(payload.get("u")), str(payload.get("h")))
    if user is None:
        return AnonymousUser(), None
    return user, Credential("token", str(user.pk), str(payload["h"]))


def _active_user(pk: str, digest: str) -> AbstractBaseUser | None:
    model = auth.get_user_model()
    try:
        user = model._default_manager.filter(pk=pk).first()
    except (ValueError, TypeError):
        return None
    if user is None or not getattr(user, "is_active", True):
        return None
    if not constant_time_compare(_auth_digest(user), digest):
        return None
    return user


def is_valid(credential: Credential) -> bool:
    if credential.method == "session":
        _, current, _ = user_from_session(credential.secret)
        return current is not None and current.user_pk == credential.user_pk
    return _active_user(credential.user_pk, credential.secret) is not None


def invalid_credentials(credentials: Iterable[Credential]) -> set[Credential]:
    return {credential for credential in credentials if not is_valid(credential)}


ainvalid_credentials = sync_to_async(invalid_credentials)


def end_session(session_key: str | None, reason: str = "logout") -> None:
    """End the connections of a login session now, before the caller goes on: whatever is
    published after this call returns never reaches them."""
    if session_key:
        event = ephemeral_event(session_stream(session_key), END_EVENT, {"reason": reason})
        delivery.send_and_wait(event.as_live_event())


def on_logout(sender: Any, request: Any = None, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    end_session(getattr(session, "session_key", None))
