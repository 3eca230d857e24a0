"""The wire formats: the JSON event envelope both transports share, WebSocket frames and SSE
messages. Everything a transport writes is encoded here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

PROTOCOL_VERSION = 1
SUBPROTOCOL = "notifications.v1.json"
LAYER_MESSAGE_TYPE = "notifications.event"
BATCH_MESSAGE_TYPE = "notifications.events"

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


_ENCODER = DjangoJSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


class InvalidEventData(ValueError):
    pass


UNSTORABLE_MESSAGE = "Event data cannot contain NUL characters (\\u0000) or lone surrogates."
_UNSTORABLE_JSON = re.compile(r"[\ud800-\udfff]|(?<!\\)(?:\\\\)*\\u0000")


@dataclass(frozen=True, slots=True)
class Encoded:
    """Event data already encoded (text from `dumps`, checked by `storable`), with its value:
    what many events alike can share the work of encoding."""

    json: str
    value: Any


def storable(encoded: str) -> str:
    """JSON from `dumps`, if every database can store it: no NUL character (which `dumps`
    escapes as \\u0000) and no lone surrogate anywhere in it."""
    if _UNSTORABLE_JSON.search(encoded):
        raise InvalidEventData(UNSTORABLE_MESSAGE)
    return encoded


def _single_line(value: str) -> str:
    return _LINE_BREAK.sub("", value).replace("\0", "")


def encode_sse(
    *,
    data: str | None = None,
    event: str | None = None,
    id: int | str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """Encode one SSE message; no field value can end a line or the message early."""
    lines: list[str] = []
    if comment is not None:
        lines.extend(": " + part for part in _LINE_BREAK.split(comment.replace("\0", "")))
    if id is not None:
        lines.append("id: " + _single_line(str(id)))
    if event is not None:
        lines.append("event: " + _single_line(event))
    if retry is not None:
        lines.append(f"retry: {int(retry)}")
    if data is not None:
        lines.extend("data: " + part for part in _LINE_BREAK.split(data.replace("\0", "")))
    return ("\n".join(lines) + "\n\n").encode()


@dataclass(slots=True)
class LiveEvent:
    """An event as it travels: its JSON envelope is encoded once and shared by every reader."""

    stream: str
    seq: int | None
    type: str
    payload: str
    coalesce: bool = field(default=False, repr=False, compare=False)
    _sse: bytes | None = field(default=None, repr=False, compare=False)
    _sse_unnamed: bytes | None = field(default=None, repr=False, compare=False)

    @classmethod
    def create(cls, stream: str, seq: int | None, type: str, data: Any, at: str) -> LiveEvent:
        return cls.from_encoded_data(stream, seq, type, dumps(data), at)

    @classmethod
    def from_encoded_data(
        cls, stream: str, seq: int | None, type: str, data: str, at: str
    ) -> LiveEvent:
        """The event whose data is already JSON-encoded (by `dumps`)."""
        number = "null" if seq is None else str(int(seq))
        return cls(stream, seq, type, envelope(dumps(stream), number, dumps(type), data, dumps(at)))

    @classmethod
    def from_layer_message(cls, message: dict[str, Any]) -> LiveEvent:
        return cls(message["stream"], message["seq"], message["event"], message["payload"])

    def as_layer_message(self) -> dict[str, Any]:
        return {
            "type": LAYER_MESSAGE_TYPE,
            "stream": self.stream,
            "seq": self.seq,
            "event": self.type,
            "payload": self.payload,
        }

    @property
    def sse(self) -> bytes:
        """The SSE message, with `event:` set to the type (for `addEventListener(type)`)."""
        if self._sse is None:
            self._sse = encode_sse(id=self.seq, event=self.type, data=self.payload)
        return self._sse

    @property
    def sse_unnamed(self) -> bytes:
        """The SSE message without `event:`, so `onmessage` sees every type."""
        if self._sse_unnamed is None:
            self._sse_unnamed = encode_sse(id=self.seq, data=self.payload)
        return self._sse_unnamed


def envelope(stream: str, seq: str, type: str, data: str, at: str) -> str:
    """An event's JSON envelope from its already encoded fields."""
    return (
        f'{{"type":"event","stream":{stream},"seq":{seq},"event":{type},"data":{data},"at":{at}}}'
    )


def batch_message(events: list[LiveEvent]) -> dict[str, Any]:
    """One layer message carrying many events (of one stream or of many)."""
    return {
        "type": BATCH_MESSAGE_TYPE,
        "events": [[event.stream, event.seq, event.type, event.payload] for event in events],
    }


def events_from_batch(message: dict[str, Any]) -> list[LiveEvent]:
    return [
        LiveEvent(stream, seq, type, payload) for stream, seq, type, payload in message["events"]
    ]


@dataclass(slots=True)
class Control:
    """A protocol message that is not an event: `welcome`, `subscribed`, `resync`, `error`,
    `ack`, `ping`, `pong`, `unsubscribed`."""

    type: str
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def payload(self) -> str:
        return dumps({"type": self.type, **self.fields})


Item = LiveEvent | Control


def control(type: str, **fields: Any) -> str:
    """A JSON control frame."""
    return Control(type, fields).payload


def websocket_frame(items: list[Item]) -> str:
    """One text frame: the item itself, or a JSON array of several queued items."""
    if len(items) == 1:
        return items[0].payload
    return "[" + ",".join(item.payload for item in items) + "]"


def sse_message(item: Item, named: bool = True) -> bytes:
    """An item as an SSE message: `id:` the seq, `event:` the type (unless `named` is off)."""
    if isinstance(item, LiveEvent):
        return item.sse if named else item.sse_unnamed
    return encode_sse(
        id=item.fields.get("seq"), event=item.type if named else None, data=item.payload
    )


SSE_KEEPALIVE = b": keep-alive\n\n"
SSE_KEEPALIVE_MESSAGE = encode_sse(data=dumps({"type": "ping"}))
