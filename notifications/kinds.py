"""Stream kinds: each kind of stream (`user`, `room`, `task`, …) is registered once, by the
code that owns it, with everything the core needs to know about its streams."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from notifications.streams import NAME_PART, User, split_stream

if TYPE_CHECKING:
    from notifications.connection import Connection

Rule = Callable[[User, str], bool]
Sweep = Callable[[list[str]], None]
FrameHandler = Callable[["Connection", dict[str, Any]], Awaitable[dict[str, Any] | None]]
ConnectionHook = Callable[["Connection", str], None]

ANY_NAME = rf"{NAME_PART}(?::{NAME_PART})*"


def nobody(user: User, name: str) -> bool:
    return False


def authenticated(user: User, name: str) -> bool:
    return bool(user.is_authenticated)


def staff(user: User, name: str) -> bool:
    return bool(user.is_authenticated and getattr(user, "is_staff", False))


def same_user(user: User, name: str) -> bool:
    return bool(user.is_authenticated) and user.pk is not None and str(user.pk) == name


@dataclass(frozen=True, slots=True)
class StreamKind:
    """What the core knows of one kind of stream.

    `name_pattern` is the regular expression the part after `kind:` must match; `None` means
    the key is the bare kind (`broadcast`). `can_read(user, name)` decides history and live
    reads, `can_publish(user, name)` publishing through the REST API. `terminal_events` end a
    stream (SSE responses close after one; finished streams answer 204). `retention_days`
    overrides `RETENTION_DAYS` for this kind. `coalesce` lists ephemeral event types of which
    a reader only needs the latest one still queued. `frame_handlers` maps WebSocket client frame
    types (`"chat.send"`) to `async def handler(connection, frame)`, which may return a dict
    of fields for the frame's `ack`. With
    `not_found_when_refused`, a reader who may not read a stream is told it does not exist (404),
    so its name leaks nothing. `sweep(names)` is called in each server process every
    RESYNC_INTERVAL with the names of this kind's streams it has readers for: the chance to end
    streams whose producer is gone. `on_enter(connection, stream)` is called on the event loop
    once a connection's subscription to one of this kind's streams is live (after authorization
    and replay), `on_leave(connection, stream)` once it ends (unsubscribe, the connection
    closing, the server stopping); both must return at once and never raise."""

    name: str
    can_read: Rule = nobody
    can_publish: Rule = staff
    name_pattern: str | None = ANY_NAME
    terminal_events: frozenset[str] = frozenset()
    retention_days: float | None = None
    coalesce: frozenset[str] = frozenset()
    frame_handlers: Mapping[str, FrameHandler] = field(default_factory=dict)
    not_found_when_refused: bool = False
    sweep: Sweep | None = None
    on_enter: ConnectionHook | None = None
    on_leave: ConnectionHook | None = None
    description: str = ""

    def matches(self, key: str) -> bool:
        kind, name = split_stream(key)
        if kind != self.name:
            return False
        if self.name_pattern is None:
            return key == kind
        return ":" in key and re.fullmatch(self.name_pattern, name) is not None

    def stream(self, name: object = None) -> str:
        """The key of this kind's stream `name` (`kinds.get("room").stream("lobby")`)."""
        return self.name if name is None else f"{self.name}:{name}"


_kinds: dict[str, StreamKind] = {}
_frame_handlers: dict[str, FrameHandler] = {}


def register(kind: StreamKind, *, replace: bool = False) -> StreamKind:
    """Register a kind (from your AppConfig.ready()); registering a name twice is an error
    unless `replace=True`."""
    current = _kinds.get(kind.name)
    if current is not None and current != kind and not replace:
        raise ImproperlyConfigured(f"The stream kind {kind.name!r} is already registered.")
    for frame_type in kind.frame_handlers:
        owner = next(
            (k for k in _kinds.values() if frame_type in k.frame_handlers and k.name != kind.name),
            None,
        )
        if owner is not None:
            raise ImproperlyConfigured(
                f"The frame type {frame_type!r} is already handled by the {owner.name!r} kind."
            )
    if current is not None:
        for frame_type in current.frame_handlers:
            _frame_handlers.pop(frame_type, None)
    _kinds[kind.name] = kind
    _frame_handlers.update(kind.frame_handlers)
    return kind


def register_default(kind: StreamKind) -> StreamKind:
    """Register `kind` unless a kind of that name is registered already (the app's own kinds,
    which a site may have replaced)."""
    return _kinds.get(kind.name) or register(kind)


def unregister(name: str) -> None:
    kind = _kinds.pop(name, None)
    if kind is not None:
        for frame_type in kind.frame_handlers:
            _frame_handlers.pop(frame_type, None)


def get(name: str) -> StreamKind | None:
    return _kinds.get(name)


def kind_of(key: str) -> StreamKind | None:
    """The registered kind of a stream key, if the key has the shape that kind expects."""
    kind = _kinds.get(split_stream(key)[0])
    return kind if kind is not None and kind.matches(key) else None


def registered() -> Mapping[str, StreamKind]:
    return MappingProxyType(_kinds)


def frame_handler(frame_type: str) -> FrameHandler | None:
    return _frame_handlers.get(frame_type)


USER = StreamKind(
    "user",
    can_read=same_user,
    description="One user's private stream: `user:<pk>`, readable by that user.",
)
BROADCAST = StreamKind(
    "broadcast",
    can_read=authenticated,
    name_pattern=None,
    description="Site-wide announcements, readable by every logged-in user.",
)
SESSION = StreamKind(
    "session",
    name_pattern=r"[0-9a-f]{32}",
    can_publish=nobody,
    description="Addresses the connections of one login session (logout ends them); "
    "never readable by clients.",
)


def register_builtin() -> None:
    for kind in (USER, BROADCAST, SESSION):
        register_default(kind)
