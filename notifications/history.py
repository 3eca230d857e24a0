"""Reading a stream's history for a user, through the stream policy: the one way the REST API,
templates and pages show past events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async

from notifications.log import read_events, read_marks
from notifications.policy import Forbidden, NotAuthenticated, StreamNotFound, authorize
from notifications.streams import InvalidStream, User

__all__ = ["Page", "ahistory", "arecent", "history", "recent", "recent_or_refused"]


@dataclass(frozen=True, slots=True)
class Page:
    """Events of one stream, oldest first, as the wire's event objects, with the stream's
    `head` (render live updates after it) and retention mark `pruned`."""

    stream: str
    head: int = 0
    pruned: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    refused: str | None = None
    detail: str = ""

    @property
    def cursors(self) -> dict[str, int]:
        """For `{% live_client cursors=page.cursors %}`: go live right after this page."""
        return {} if self.refused else {self.stream: self.head}


def history(user: User, stream: object, *, since: int = 0, limit: int = 100) -> Page:
    """Up to `limit` kept events after seq `since`, if `user` may read the stream."""
    key = authorize(user, stream)
    head, pruned = read_marks(key)
    return _page(key, head, pruned, since, limit)


def recent(user: User, stream: object, limit: int = 20) -> Page:
    """The last `limit` events, if `user` may read the stream."""
    key = authorize(user, stream)
    head, pruned = read_marks(key)
    return _page(key, head, pruned, max(pruned, head - limit), limit)


def recent_or_refused(user: User, stream: object, limit: int = 20) -> Page:
    """Like `recent`, but a refusal is an empty page whose `refused` says why
    ("invalid_stream", "not_authenticated", "not_found", "forbidden") and `detail` says it in
    words."""
    try:
        return recent(user, stream, limit)
    except InvalidStream as error:
        return Page(str(stream), refused="invalid_stream", detail=str(error))
    except NotAuthenticated:
        return Page(str(stream), refused="not_authenticated", detail="Log in to read this stream.")
    except StreamNotFound:
        return Page(str(stream), refused="not_found", detail="No such stream.")
    except Forbidden:
        return Page(str(stream), refused="forbidden", detail="You may not read this stream.")


def _page(key: str, head: int, pruned: int, since: int, limit: int) -> Page:
    events = read_events(key, since, upto=head, limit=limit) if since < head else []
    return Page(key, head, pruned, [json.loads(event.payload) for event in events])


ahistory = sync_to_async(history)
arecent = sync_to_async(recent)
