from __future__ import annotations

from notifications import kinds
from notifications.streams import User


def can_read_room(user: User, slug: str) -> bool:
    """Public rooms: anyone logged in; private rooms: their members."""
    from notifications.chat.models import Room

    if not user.is_authenticated or user.pk is None:
        return False
    room = Room.objects.filter(slug=slug).only("pk", "is_private").first()
    if room is None:
        return False
    return not room.is_private or room.members.filter(pk=user.pk).exists()


ROOM = kinds.StreamKind(
    "room",
    can_read=can_read_room,
    name_pattern=r"[-a-zA-Z0-9_]+",
    description="A chat room: `room:<slug>`, public or for its members.",
)


def register() -> None:
    kinds.register_default(ROOM)
