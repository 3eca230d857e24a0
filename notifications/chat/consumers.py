"""The chat's WebSocket frames, registered on the `room` stream kind:

- `chat.join` `{room, limit?}`: a `chat.history` frame with the room's latest messages, read
  markers and presence, then the room's events from there (the connection is subscribed to
  `room:<slug>` after them);
- `chat.send` `{room, body, client_id}`: acknowledged with the stored message's `id` and `seq`
  (a retried `client_id` is stored once, and answered alike);
- `chat.edit` `{room, id, body}`, `chat.delete` `{room, id}`: your own messages;
- `chat.read` `{room, seq}`: moves your read marker;
- `chat.typing` `{room}`: an ephemeral `chat.typing` event, at most once per
  CHAT_TYPING_INTERVAL per user and room.
"""

from __future__ import annotations

import time
from typing import Any

from asgiref.sync import sync_to_async

from notifications.api import apublish
from notifications.chat import api, presence
from notifications.chat.limits import Recent, send_bucket
from notifications.chat.models import Message, Room
from notifications.conf import app_settings
from notifications.connection import Connection, FrameRefused
from notifications.policy import StreamNotFound
from notifications.streams import InvalidStream
from notifications.subscriptions import Forbidden, NotAuthenticated
from notifications.wire import Control

TYPING = "chat.typing"
HISTORY = "chat.history"

_typing_sent = Recent()


async def join(connection: Connection, frame: dict[str, Any]) -> dict[str, Any]:
    room = await _room(connection, frame)
    limit = frame.get("limit", app_settings.CHAT_HISTORY)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 500:
        raise FrameRefused("invalid_frame", "limit must be an integer from 0 to 500.")
    snapshot = await sync_to_async(_snapshot)(room, connection.user, limit)
    snapshot["presence"] = await presence.present(room.stream)
    connection.outbox.push_control(Control(HISTORY, snapshot))
    presence.joined(connection, room.stream)
    connection.subscribe(room.stream, snapshot["seq"])
    return {"room": room.slug, "seq": snapshot["seq"]}


async def send(connection: Connection, frame: dict[str, Any]) -> dict[str, Any]:
    room = await _room(connection, frame)
    bucket = send_bucket(connection.user.pk)
    if not bucket.take():
        raise FrameRefused(
            "rate_limited",
            "Too many messages; this one was not sent.",
            retry_after=round(bucket.retry_after(), 3),
        )
    posted = await _call(
        api.post_message, room, connection.user, frame.get("body"), client_id=frame.get("client_id")
    )
    message = posted.message
    return {"id": message.pk, "seq": message.seq, "duplicate": not posted.created}


async def edit(connection: Connection, frame: dict[str, Any]) -> dict[str, Any]:
    message = await _message(connection, frame)
    edited = await _call(api.edit_message, message, connection.user, frame.get("body"))
    return {"id": edited.pk}


async def delete(connection: Connection, frame: dict[str, Any]) -> dict[str, Any]:
    message = await _message(connection, frame)
    await _call(api.delete_message, message, connection.user)
    return {"id": message.pk}


async def read(connection: Connection, frame: dict[str, Any]) -> dict[str, Any]:
    room = await _room(connection, frame)
    marker = await _call(api.mark_read, room, connection.user, frame.get("seq"))
    return {"room": room.slug, "read_seq": marker}


async def typing(connection: Connection, frame: dict[str, Any]) -> None:
    room = await _room(connection, frame)
    key = (connection.user.pk, room.pk)
    now = time.monotonic()
    last = _typing_sent.get(key)
    if last is not None and now - last < app_settings.CHAT_TYPING_INTERVAL:
        return
    _typing_sent.put(key, now)
    user = connection.user
    await apublish(
        room.stream,
        TYPING,
        {"user": {"id": user.pk, "name": user.get_username()}},
        persist=False,
    )


FRAMES = {
    "chat.join": join,
    "chat.send": send,
    "chat.edit": edit,
    "chat.delete": delete,
    "chat.read": read,
    "chat.typing": typing,
}


def _snapshot(room: Room, user: Any, limit: int) -> dict[str, Any]:
    from notifications.log import read_heads

    head = read_heads([room.stream]).get(room.stream, 0)
    messages = [
        api.as_dict(message)
        for message in api.history(room, limit=limit)
        if message.seq is not None and message.seq <= head
    ]
    return {
        "room": room.slug,
        "seq": head,
        "messages": messages,
        "read": api.read_markers(room),
    }


async def _room(connection: Connection, frame: dict[str, Any]) -> Room:
    slug = frame.get("room")
    if not isinstance(slug, str):
        raise FrameRefused("invalid_frame", 'A chat frame names its "room".')
    try:
        await connection.authorize(f"room:{slug}")
    except InvalidStream as error:
        raise FrameRefused("invalid_stream", str(error)) from None
    except (StreamNotFound, NotAuthenticated, Forbidden):
        raise FrameRefused("forbidden", "You may not use this room.", room=slug) from None
    room = await Room.objects.filter(slug=slug).afirst()
    if room is None:
        raise FrameRefused("forbidden", "You may not use this room.", room=slug)
    return room


async def _message(connection: Connection, frame: dict[str, Any]) -> Message:
    room = await _room(connection, frame)
    pk = frame.get("id")
    if not isinstance(pk, int) or isinstance(pk, bool):
        raise FrameRefused("invalid_frame", 'Name the message by its "id".')
    message = await Message.objects.select_related("room").filter(room=room, pk=pk).afirst()
    if message is None:
        raise FrameRefused("not_found", "No such message.")
    return message


async def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await sync_to_async(function)(*args, **kwargs)
    except api.ChatError as error:
        raise FrameRefused(error.code, error.message) from None
