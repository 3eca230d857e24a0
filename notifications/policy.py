"""The stream policy: who may connect, read and publish. The default asks the stream kinds;
a site's `STREAM_POLICY` subclass can override any decision."""

from __future__ import annotations

from functools import cache

from asgiref.sync import sync_to_async
from django.utils.module_loading import import_string

from notifications import kinds
from notifications.conf import app_settings
from notifications.streams import User, split_stream, validate_stream


class NotAuthenticated(Exception):
    pass


class Forbidden(Exception):
    pass


class StreamNotFound(Forbidden):
    """Refused, and told as "no such stream" (the kind's `not_found_when_refused`)."""


class StreamPolicy:
    """Point `NOTIFICATIONS["STREAM_POLICY"]` at a subclass to change a decision. A method
    `can_read_<kind>(user, name)` on a subclass decides for that kind (logged-in users only)."""

    def can_connect(self, user: User) -> bool:
        """Whether `user` may open a connection at all; runs before the WebSocket is accepted."""
        return bool(user.is_authenticated)

    def can_read(self, user: User, stream: str) -> bool:
        """Whether `user` may read `stream` (history and live events)."""
        kind_name, name = split_stream(stream)
        override = getattr(self, f"can_read_{kind_name}", None)
        if override is not None:
            return bool(user.is_authenticated and override(user, name))
        kind = kinds.kind_of(stream)
        return kind is not None and bool(kind.can_read(user, name))

    def can_publish(self, user: User, stream: str) -> bool:
        """Whether `user` may publish to `stream` through the REST API; staff by default."""
        kind = kinds.kind_of(stream)
        if kind is None:
            return kinds.staff(user, "")
        return bool(kind.can_publish(user, split_stream(stream)[1]))

    def terminal_events(self, stream: str) -> frozenset[str]:
        """Event types that finish `stream`."""
        kind = kinds.kind_of(stream)
        return kind.terminal_events if kind is not None else frozenset()

    async def acan_connect(self, user: User) -> bool:
        return await sync_to_async(self.can_connect)(user)


DefaultStreamPolicy = StreamPolicy


def authorize(user: User, stream: object) -> str:
    """The validated key if the policy lets `user` read it; raises InvalidStream,
    NotAuthenticated or Forbidden otherwise. Every read of a stream passes here."""
    key = validate_stream(stream)
    policy = get_policy()
    if not policy.can_read(user, key):
        if not user.is_authenticated and not policy.can_connect(user):
            raise NotAuthenticated(key)
        kind = kinds.kind_of(key)
        if kind is not None and kind.not_found_when_refused:
            raise StreamNotFound(key)
        raise Forbidden(key)
    return key


aauthorize = sync_to_async(authorize)


@cache
def _load_policy(path: str) -> StreamPolicy:
    policy = import_string(path)
    return policy() if isinstance(policy, type) else policy  # type: ignore[no-any-return]


def get_policy() -> StreamPolicy:
    return _load_policy(app_settings.STREAM_POLICY)
