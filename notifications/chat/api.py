"""Chat: post, edit and delete messages, move read markers. Every change is an event on the
room's stream (`chat.message`, `chat.edited`, `chat.deleted`, `chat.read`), stored with it in
one transaction, so a client that reconnects with its cursor replays what it missed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, router, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import slugify

from notifications.api import publish
from notifications.chat.models import Membership, Message, Room
from notifications.conf import app_settings
from notifications.log import read_heads

MESSAGE = "chat.message"
EDITED = "chat.edited"
DELETED = "chat.deleted"
READ = "chat.read"
UNREAD = "chat.unread"
MENTION = re.compile(r"(?<![\w@])@([\w.+-]+)")
DIRECT_SLUG = re.compile(r"dm-[0-9]+-[0-9]+")


class ChatError(Exception):
    """A refused chat action: `code` is the error frame's (and the API's) code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Posted:
    message: Message
    created: bool


def may_read(user: Any, room: Room) -> bool:
    """What the stream policy decides for `room:<slug>` (by default: public rooms, anyone
    logged in; private rooms and direct conversations, their members)."""
    from notifications.policy import get_policy

    if not getattr(user, "is_authenticated", False):
        return False
    return get_policy().can_read(user, room.stream)


def rooms_for(user: Any) -> QuerySet[Room]:
    """The rooms `user` may read: in one query while the room kind's own rule decides (public
    rooms, and those they are a member of); each one asked of the stream policy when a site's
    policy or kind decides instead."""
    from notifications.policy import get_policy

    if not getattr(user, "is_authenticated", False):
        return Room.objects.none()
    public = Q(is_private=False) & ~Q(kind=Room.Kind.DIRECT)
    rooms = Room.objects.filter(public | Q(memberships__user_id=user.pk)).distinct()
    if _decided_by_the_room_kind():
        return rooms
    decide = get_policy()
    allowed = [
        pk
        for pk, stream in Room.objects.values_list("pk", "slug")
        if decide.can_read(user, f"room:{stream}")
    ]
    return Room.objects.filter(pk__in=allowed)


def _decided_by_the_room_kind() -> bool:
    from notifications import kinds
    from notifications.chat.kinds import can_read_room
    from notifications.policy import StreamPolicy, get_policy

    decide = get_policy()
    kind = kinds.get("room")
    return (
        kind is not None
        and kind.can_read is can_read_room
        and type(decide).can_read is StreamPolicy.can_read
        and not hasattr(decide, "can_read_room")
    )


def create_room(creator: Any, name: str, *, slug: str = "", is_private: bool = False) -> Room:
    """A new room with `creator` as its owner. Its slug is `slug`, or one made from the name;
    either gets `-2`, `-3`, … if taken (`direct`, and slugs of the `dm-<id>-<id>` shape, are
    kept for the API's direct conversations)."""
    base = slugify(slug or name)[:90] or "room"
    using = router.db_for_write(Room)
    for number in range(1, 1000):
        candidate = base if number == 1 else f"{base}-{number}"
        if (
            DIRECT_SLUG.fullmatch(candidate)
            or candidate == "direct"
            or Room.objects.using(using).filter(slug=candidate).exists()
        ):
            continue
        try:
            with transaction.atomic(using=using):
                room = Room.objects.using(using).create(
                    slug=candidate, name=name, is_private=is_private, created_by=creator
                )
                Membership.objects.using(using).create(
                    room=room, user=creator, role=Membership.Role.OWNER
                )
        except IntegrityError:
            continue
        return room
    raise ChatError("invalid_room", "No free slug for this room; choose another one.")


def start_direct(user: Any, other: Any) -> tuple[Room, bool]:
    """The direct conversation between two users (one per pair, slug `dm-<low id>-<high id>`,
    both members), and whether it was created now."""
    if user.pk == other.pk:
        raise ChatError("invalid_user", "A direct conversation is with another user.")
    low, high = sorted([user, other], key=lambda person: person.pk)
    slug = f"dm-{low.pk}-{high.pk}"
    using = router.db_for_write(Room)
    room = Room.objects.using(using).filter(slug=slug).first()
    created = False
    if room is None:
        try:
            with transaction.atomic(using=using):
                room = Room.objects.using(using).create(
                    slug=slug,
                    name=f"{low.get_username()}, {high.get_username()}",
                    kind=Room.Kind.DIRECT,
                    created_by=user,
                )
            created = True
        except IntegrityError:
            room = Room.objects.using(using).get(slug=slug)
    if room.kind != Room.Kind.DIRECT:
        raise ChatError("invalid_room", f"The slug {slug!r} is taken by a room.")
    for person in (low, high):
        _join(room, person, using)
    return room, created


def members(room: Room) -> QuerySet[Membership]:
    """The room's memberships with their users, in the order they joined."""
    return Membership.objects.filter(room=room).select_related("user").order_by("joined_at", "pk")


def post_message(room: Room, author: Any, body: Any, *, client_id: str | None = None) -> Posted:
    """Store a message and its `chat.message` event. A retried send (the same author and
    `client_id`) stores nothing and answers with the message stored the first time."""
    text = clean_body(body)
    if not may_read(author, room):
        raise ChatError("forbidden", "You may not post in this room.")
    if client_id:
        earlier = _sent_before(author, client_id, room)
        if earlier is not None:
            return Posted(earlier, False)
    using = router.db_for_write(Message)
    try:
        with transaction.atomic(using=using):
            message = Message.objects.using(using).create(
                room=room, author=author, body=text, client_id=client_id or ""
            )
            event = publish(room.stream, MESSAGE, _event_data(message), using=using)
            message.seq = event.seq
            Message.objects.using(using).filter(pk=message.pk).update(seq=event.seq)
            _join(room, author, using)
    except IntegrityError:
        earlier = _sent_before(author, client_id, room) if client_id else None
        if earlier is None:
            raise
        return Posted(earlier, False)
    _notify_mentioned(message)
    return Posted(message, True)


def edit_message(message: Message, user: Any, body: Any) -> Message:
    text = clean_body(body)
    if message.deleted:
        raise ChatError("not_found", "No such message.")
    if message.author_id != user.pk:
        raise ChatError("forbidden", "Only its author may edit a message.")
    using = router.db_for_write(Message)
    with transaction.atomic(using=using):
        message.body = text
        message.edited_at = timezone.now()
        message.save(update_fields=["body", "edited_at"], using=using)
        publish(
            message.room.stream,
            EDITED,
            {"id": message.pk, "body": text, "edited_at": message.edited_at},
            using=using,
        )
    return message


def delete_message(message: Message, by: Any) -> Message:
    """Delete for everyone (its author, a moderator or owner of the room, or staff); the text
    stays in the database for moderation, and no reader gets it again."""
    if message.deleted:
        return message
    if not may_delete(by, message):
        raise ChatError("forbidden", "You may not delete this message.")
    using = router.db_for_write(Message)
    with transaction.atomic(using=using):
        message.deleted = True
        message.save(update_fields=["deleted"], using=using)
        publish(message.room.stream, DELETED, {"id": message.pk}, using=using)
    return message


def may_delete(user: Any, message: Message) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if message.author_id == user.pk or getattr(user, "is_staff", False):
        return True
    return Membership.objects.filter(
        room_id=message.room_id,
        user_id=user.pk,
        role__in=[Membership.Role.MODERATOR, Membership.Role.OWNER],
    ).exists()


def mark_read(room: Room, user: Any, seq: Any) -> int:
    """Move `user`'s read marker in `room` forward to `seq` (never back, never past the
    room's last event); the room's readers get a `chat.read` receipt and the user's other tabs
    `chat.unread` with the room's new unread count. Returns the marker."""
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ChatError("invalid_frame", "seq must be a non-negative integer.")
    if not may_read(user, room):
        raise ChatError("forbidden", "You may not read this room.")
    head = read_heads([room.stream]).get(room.stream, 0)
    target = min(seq, head)
    using = router.db_for_write(Membership)
    with transaction.atomic(using=using):
        membership = _join(room, user, using)
        if target <= membership.read_seq:
            return membership.read_seq
        Membership.objects.using(using).filter(pk=membership.pk).update(read_seq=target)
        publish(room.stream, READ, {"user": user.pk, "seq": target}, using=using)
        publish(
            f"user:{user.pk}",
            UNREAD,
            {"room": room.slug, "read_seq": target, "unread": unread_in(room, user, target)},
            using=using,
        )
    return target


def unread_in(room: Room, user: Any, read_seq: int) -> int:
    return (
        Message.objects.filter(room=room, seq__gt=read_seq, deleted=False)
        .exclude(author_id=user.pk)
        .count()
    )


def with_unread(rooms: QuerySet[Room], user: Any) -> QuerySet[Room]:
    """`rooms`, each with `unread`: the messages by others after the user's read marker (all
    of them in a room they have not joined), in one query."""
    marker = Membership.objects.filter(room=OuterRef("room_id"), user_id=user.pk).values("read_seq")
    unread = (
        Message.objects.filter(room=OuterRef("pk"), deleted=False)
        .exclude(author_id=user.pk)
        .filter(seq__gt=Coalesce(Subquery(marker), 0))
        .order_by()
        .values("room")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return rooms.annotate(unread=Coalesce(Subquery(unread), 0))


def history(room: Room, *, before: int | None = None, limit: int | None = None) -> list[Message]:
    """The room's latest messages (before seq `before`), oldest first; deleted ones left out."""
    count = app_settings.CHAT_HISTORY if limit is None else limit
    messages = Message.objects.filter(room=room, deleted=False, seq__isnull=False)
    if before is not None:
        messages = messages.filter(seq__lt=before)
    latest = messages.select_related("author").order_by("-seq")[: max(0, count)]
    return list(reversed(latest))


def read_markers(room: Room) -> dict[str, int]:
    """How far each member has read (user id -> seq), for read receipts."""
    rows = Membership.objects.filter(room=room, read_seq__gt=0).values_list("user_id", "read_seq")
    return {str(user): seq for user, seq in rows}


def as_dict(message: Message) -> dict[str, Any]:
    author = message.author
    return {
        "id": message.pk,
        "seq": message.seq,
        "room": message.room.slug,
        "author": None if author is None else {"id": author.pk, "name": author.get_username()},
        "body": message.body,
        "client_id": message.client_id or None,
        "created_at": message.created_at,
        "edited_at": message.edited_at,
    }


def _event_data(message: Message) -> dict[str, Any]:
    """The message as a `chat.message` event carries it: its seq is the event's own."""
    data = as_dict(message)
    del data["seq"]
    return data


def clean_body(body: Any) -> str:
    """The text as sent (never altered, never rendered as markup), if it is a message."""
    if not isinstance(body, str) or not body.strip():
        raise ChatError("invalid_message", "A message is a non-empty string.")
    limit = app_settings.CHAT_MESSAGE_MAX_LENGTH
    if len(body) > limit:
        raise ChatError("message_too_long", f"A message has at most {limit} characters.")
    if "\x00" in body:
        raise ChatError("invalid_message", "A message cannot contain NUL characters.")
    return body


def _sent_before(author: Any, client_id: str, room: Room) -> Message | None:
    earlier = Message.objects.filter(author_id=author.pk, client_id=client_id).first()
    if earlier is not None and earlier.room_id != room.pk:
        raise ChatError("invalid_frame", "This client_id was used for another room.")
    return earlier


def _join(room: Room, user: Any, using: str) -> Membership:
    membership, _ = Membership.objects.using(using).get_or_create(room=room, user_id=user.pk)
    return membership


def _notify_mentioned(message: Message) -> None:
    """Each user named `@username` in the message who may read the room gets a notification,
    once (a retried send creates none)."""
    names = {name.rstrip(".") for name in MENTION.findall(message.body)}
    if not names:
        return
    from notifications.inbox.api import notify

    model = get_user_model()
    named = model._default_manager.filter(**{f"{model.USERNAME_FIELD}__in": names})
    if message.author_id is not None:
        named = named.exclude(pk=message.author_id)
    room = message.room
    readers = [user for user in named if may_read(user, room)]
    if readers:
        notify(
            readers,
            "mentioned you in",
            actor=message.author,
            target=room,
            description=message.body[:200],
            data={"room": room.slug, "message": message.pk, "seq": message.seq},
        )


__all__ = [
    "ChatError",
    "Posted",
    "as_dict",
    "create_room",
    "delete_message",
    "edit_message",
    "history",
    "mark_read",
    "may_delete",
    "may_read",
    "members",
    "post_message",
    "read_markers",
    "rooms_for",
    "start_direct",
    "unread_in",
    "with_unread",
]
