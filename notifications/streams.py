"""Stream keys and event types: what a valid key is, and the layer group of a stream."""

from __future__ import annotations

import hashlib
import re

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

MAX_STREAM_LENGTH = 200
NAME_PART = r"[A-Za-z0-9_.@=+-]+"
STREAM_KEY = re.compile(rf"[a-z][a-z0-9_]*(?::{NAME_PART})*")
EVENT_TYPE = re.compile(r"[A-Za-z0-9_.:-]{1,100}")

User = AbstractBaseUser | AnonymousUser


class InvalidStream(ValueError):
    pass


def validate_stream(key: object) -> str:
    if not isinstance(key, str) or len(key) > MAX_STREAM_LENGTH or not STREAM_KEY.fullmatch(key):
        raise InvalidStream(
            f"Invalid stream key {key!r}: expected 'kind' or 'kind:name' "
            f"of letters, digits and _.@=+- (at most {MAX_STREAM_LENGTH} characters)."
        )
    return key


def validate_event_type(type: object) -> str:
    if not isinstance(type, str) or not EVENT_TYPE.fullmatch(type):
        raise ValueError(f"Invalid event type {type!r}: 1-100 letters, digits and _.:- characters.")
    return type


def split_stream(key: str) -> tuple[str, str]:
    """`"room:lobby"` -> `("room", "lobby")`; `"broadcast"` -> `("broadcast", "")`."""
    kind, _, name = key.partition(":")
    return kind, name


def group_name(stream: str) -> str:
    """The channel-layer group of a stream (layer group names cannot hold every stream key)."""
    return "notifications." + hashlib.blake2b(stream.encode(), digest_size=16).hexdigest()


HUBS_GROUP = "notifications.hubs"
"""The layer group every process's hub joins: batches over many streams travel there once per
process, and each process keeps the events of the streams it serves."""
