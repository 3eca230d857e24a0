from __future__ import annotations

from typing import TYPE_CHECKING, Any

from notifications import kinds
from notifications.streams import User

if TYPE_CHECKING:
    from notifications.connection import Connection

FRAME_TYPES = ("chat.join", "chat.send", "chat.edit", "chat.delete", "chat.read", "chat.typing")


def can_read_room(user: User, slug: str) -> bool:
    """Public rooms: anyone logged in; private rooms and direct conversations: their members."""
    from notifications.chat.models import Membership, Room

    if not user.is_authenticated or user.pk is None:
        return False
    room = Room.objects.filter(slug=slug).only("pk", "is_private", "kind").first()
    if room is None:
        return False
    return not room.members_only or Membership.objects.filter(room=room, user_id=user.pk).exists()


def _handler(frame_type: str) -> kinds.FrameHandler:
    async def handle(connection: Connection, frame: dict[str, Any]) -> dict[str, Any] | None:
        from notifications.chat.consumers import FRAMES

        return await FRAMES[frame_type](connection, frame)

    return handle


def _enter(connection: Connection, stream: str) -> None:
    from notifications.chat import presence

    presence.enter(connection, stream)


def _leave(connection: Connection, stream: str) -> None:
    from notifications.chat import presence

    presence.leave(connection, stream)


ROOM = kinds.StreamKind(
    "room",
    can_read=can_read_room,
    name_pattern=r"[-a-zA-Z0-9_]+",
    coalesce=frozenset({"chat.typing"}),
    frame_handlers={frame_type: _handler(frame_type) for frame_type in FRAME_TYPES},
    on_enter=_enter,
    on_leave=_leave,
    description="A chat room: `room:<slug>`, public or for its members.",
)


def register() -> None:
    kinds.register_default(ROOM)
