"""Cheap receivers for the load tool: a minimal asyncio WebSocket client (hand-written frame
parser, masked client frames) and a minimal SSE client (HTTP/1.1, chunked), plus the
per-receiver exactly-once / in-order bookkeeping.

Everything here runs inside the load tool's receiver processes (see `loadtool.py`); one
process holds many connections, so the per-message path is kept short: one `json.loads` per
frame, a few integer operations per event, no per-message task or future.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from array import array
from collections import Counter
from typing import Any

loads = json.loads

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def mask_frame(opcode: int, payload: bytes) -> bytes:
    """A client-to-server frame: FIN set, masked with a random key (RFC 6455 5.3)."""
    length = len(payload)
    if length < 126:
        header = bytes((0x80 | opcode, 0x80 | length))
    elif length < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    key = os.urandom(4)
    if length:
        stream = (key * (length // 4 + 1))[:length]
        payload = (int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")).to_bytes(
            length, "little"
        )
    return header + key + payload


class Stats:
    """What one receiver process saw, over all its receivers."""

    def __init__(self, events: int, token: str) -> None:
        self.events = events
        self.token = token
        self.latencies = array("d")
        # Per event index: the slowest delivery and the sum of latencies (for the mean).
        self.event_max = array("d", bytes(8 * events))
        self.event_sum = array("d", bytes(8 * events))
        self.closes: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.handshake_failures = 0
        self.reconnects = 0
        self.foreign = 0
        self.resyncs = 0
        self.pings = 0
        self.frames = 0
        self.incomplete = 0
        self.progress_at = 0.0
        self.first_at = 0.0
        self.on_complete: Any = None


class Receiver:
    """One logical reader: checks that it gets events 0..E-1 exactly once and in order (by the
    `i` the sender put in the data, and by `seq` where the transport has one)."""

    __slots__ = (
        "cursor",
        "done",
        "dups",
        "got",
        "last_i",
        "last_new",
        "last_seq",
        "out_of_order",
        "proto",
        "ready",
        "seen",
        "seq_errors",
        "seq_offset",
        "stats",
    )

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.seen = bytearray(stats.events)
        self.got = 0
        self.dups = 0
        self.out_of_order = 0
        self.last_i = -1
        self.last_seq: int | None = None
        self.seq_offset: int | None = None
        self.seq_errors = 0
        self.last_new = 0.0
        self.cursor: int | None = None
        self.done = stats.events == 0
        self.ready: asyncio.Future[None] | None = None
        self.proto: Any = None

    def record(self, data: Any, now: float, seq: int | None) -> None:
        stats = self.stats
        try:
            i = data["i"]
            sent = data["t"]
            if data["r"] != stats.token:
                raise KeyError
        except (KeyError, TypeError):
            stats.foreign += 1
            return
        if i >= stats.events or i < 0:
            stats.foreign += 1
            return
        latency = now - sent
        stats.latencies.append(latency)
        stats.event_sum[i] += latency
        if latency > stats.event_max[i]:
            stats.event_max[i] = latency
        if i != self.last_i + 1:
            self.out_of_order += 1
        self.last_i = i
        if seq is not None:
            if self.last_seq is not None and seq != self.last_seq + 1:
                self.seq_errors += 1
            if self.seq_offset is None:
                self.seq_offset = seq - i
            elif seq - i != self.seq_offset:
                self.seq_errors += 1
            self.last_seq = seq
        if self.seen[i]:
            self.dups += 1
            return
        self.seen[i] = 1
        self.got += 1
        self.last_new = now
        stats.progress_at = now
        if not stats.first_at:
            stats.first_at = now
        if self.got == stats.events:
            self.done = True
            stats.incomplete -= 1
            if stats.incomplete == 0 and stats.on_complete is not None:
                stats.on_complete()

    def set_ready(self) -> None:
        if self.ready is not None and not self.ready.done():
            self.ready.set_result(None)

    def fail(self, error: BaseException) -> None:
        if self.ready is not None and not self.ready.done():
            self.ready.set_exception(error)

    def summary(self) -> dict[str, int]:
        events = self.stats.events
        return {
            "got": self.got,
            "lost": events - self.got,
            "dups": self.dups,
            "out_of_order": self.out_of_order,
            "seq_errors": self.seq_errors,
        }


class HandshakeError(Exception):
    pass


class RequestProtocol(asyncio.Protocol):
    """Writes its HTTP request once connected; reports a connection lost before it was ready."""

    receiver: Receiver
    request: bytes
    transport: asyncio.Transport | None
    closed: bool
    on_lost: Any

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.receiver.fail(HandshakeError(f"connection lost before ready: {exc!r}"))
        if self.on_lost is not None:
            self.on_lost(self)


class WebSocketProtocol(RequestProtocol):
    """A WebSocket client connection. `kind` picks how text frames are read:
    "ours" (protocol.md: object or array, events carry seq, app-level pings are answered),
    "tutorial" ({"message": data}), "raw" (frames like ours, which its sender writes, read
    the same way; it has no subscription to wait for), "raw-bare" (the data itself) or
    "inbox" (our app's frames, where the event that counts is `notification.created` and
    the sender's data is the notification's `data`; any other event counts as foreign) or
    "chat" (our app's frames; on `welcome` it sends `hello`, the `chat.join` frame, unless
    it is resuming; the event that counts is `chat.message`, see `_on_text_chat`)."""

    def __init__(
        self,
        receiver: Receiver,
        kind: str,
        request: bytes,
        hello: str | None = None,
        seq_base: int = 0,
    ) -> None:
        self.receiver = receiver
        self.kind = kind
        self.request = request
        self.hello = hello
        self.seq_base = seq_base
        self.buffer = bytearray()
        self.open = False
        self.closed = False
        self.close_code: int | None = None
        self.transport: asyncio.Transport | None = None
        self.fragments: list[bytes] | None = None
        self.on_lost: Any = None
        if kind == "tutorial":
            self.on_text = self._on_text_tutorial
        elif kind == "raw-bare":
            self.on_text = self._on_text_bare
        elif kind == "inbox":
            self.on_text = self._on_text_inbox
        elif kind == "chat":
            self.on_text = self._on_text_chat
        else:
            self.on_text = self._on_text_ours

    # -- transport callbacks --

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end])
            del buffer[: end + 4]
            status = head.split(b"\r\n", 1)[0]
            if b" 101 " not in status + b" ":
                self.receiver.stats.handshake_failures += 1
                self.receiver.fail(HandshakeError(status.decode("latin-1")))
                self.abort()
                return
            self.open = True
            if self.kind not in ("ours", "inbox", "chat"):
                self.receiver.set_ready()
        self._parse()

    # -- frames --

    def _parse(self) -> None:
        buffer = self.buffer
        size = len(buffer)
        pos = 0
        now = time.time()
        while size - pos >= 2:
            b0 = buffer[pos]
            b1 = buffer[pos + 1]
            length = b1 & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = (buffer[pos + 2] << 8) | buffer[pos + 3]
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
                start = pos + 10
            key = None
            if b1 & 0x80:
                key = bytes(buffer[start : start + 4])
                start += 4
            end = start + length
            if end > size:
                break
            payload = buffer[start:end]
            pos = end
            if key is not None and length:
                stream = (key * (length // 4 + 1))[:length]
                payload = (
                    int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")
                ).to_bytes(length, "little")
            opcode = b0 & 0x0F
            if opcode == OP_TEXT:
                if b0 & 0x80:
                    self.on_text(payload, now)
                else:
                    self.fragments = [payload]
            elif opcode == OP_CONT and self.fragments is not None:
                self.fragments.append(payload)
                if b0 & 0x80:
                    text = b"".join(self.fragments)
                    self.fragments = None
                    self.on_text(text, now)
            elif opcode == OP_PING:
                self.write_frame(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self.close_code = code
                self.receiver.stats.closes[str(code)] += 1
                self.receiver.fail(HandshakeError(f"closed with {code}"))
                self.write_frame(OP_CLOSE, payload[:2])
                if self.transport is not None:
                    self.transport.close()
                break
            elif opcode == OP_BINARY:
                self.receiver.stats.errors["binary frame"] += 1
        if pos:
            del buffer[:pos]

    def write_frame(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(mask_frame(opcode, payload))

    def send_text(self, text: str) -> None:
        self.write_frame(OP_TEXT, text.encode())

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.write_frame(OP_CLOSE, (1000).to_bytes(2, "big"))
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # -- text frames per server kind --

    def _on_text_ours(self, payload: bytes | bytearray, now: float) -> None:
        content = loads(payload)
        counted = False
        for message in content if type(content) is list else (content,):
            kind = message.get("type")
            if kind == "event":
                if not counted:
                    self.receiver.stats.frames += 1  # frames that carry events
                    counted = True
                self.receiver.record(message["data"], now, message["seq"])
            else:
                self._on_control(kind, message)

    def _on_control(self, kind: str, message: dict[str, Any]) -> None:
        """Our app's frames other than events."""
        if kind == "ping":
            self.receiver.stats.pings += 1
            self.send_text(f'{{"type":"pong","id":{int(message["id"])}}}')
        elif kind == "subscribed":
            self.receiver.cursor = message.get("seq")
            self.receiver.set_ready()
        elif kind == "resync":
            self.receiver.stats.resyncs += 1
            self.receiver.cursor = message.get("seq")
        elif kind == "error":
            self.receiver.stats.errors[str(message.get("code"))] += 1
        elif kind == "welcome" and self.hello is not None:
            receiver = self.receiver
            if receiver.cursor is None and receiver.last_seq is None:
                self.send_text(self.hello)
        elif kind not in ("welcome", "pong", "unsubscribed", "chat.history"):
            self.receiver.stats.errors[f"unexpected {kind}"] += 1

    def _on_text_inbox(self, payload: bytes | bytearray, now: float) -> None:
        content = loads(payload)
        counted = False
        for message in content if type(content) is list else (content,):
            kind = message.get("type")
            if kind != "event":
                self._on_control(kind, message)
                continue
            if not counted:
                self.receiver.stats.frames += 1
                counted = True
            if message.get("event") == "notification.created":
                self.receiver.last_seq = message["seq"]
                self.receiver.record(message["data"]["notification"].get("data"), now, None)
            else:
                self.receiver.stats.foreign += 1

    def _on_text_chat(self, payload: bytes | bytearray, now: float) -> None:
        """A `chat.message` counts as event `seq - seq_base - 1` (one room, fresh for the
        run, so its messages are seq_base + 1, + 2, ...); its body is `<token> <send time>`
        and a `seq` in its data, if any, must be the event's. Presence events are skipped."""
        content = loads(payload)
        counted = False
        for message in content if type(content) is list else (content,):
            kind = message.get("type")
            if kind != "event":
                self._on_control(kind, message)
                continue
            event = message.get("event")
            if event == "chat.message":
                if not counted:
                    self.receiver.stats.frames += 1
                    counted = True
                seq = message["seq"]
                data = message["data"]
                token, _, sent = str(data.get("body", "")).partition(" ")
                if data.get("seq", seq) not in (None, seq):
                    self.receiver.stats.errors["data seq differs from event seq"] += 1
                try:
                    record = {"r": token, "i": seq - self.seq_base - 1, "t": float(sent)}
                except ValueError:
                    self.receiver.stats.foreign += 1
                    continue
                self.receiver.record(record, now, seq)
            elif not event.startswith("presence."):
                self.receiver.stats.foreign += 1

    def _on_text_tutorial(self, payload: bytes | bytearray, now: float) -> None:
        self.receiver.stats.frames += 1
        self.receiver.record(loads(payload)["message"], now, None)

    def _on_text_bare(self, payload: bytes | bytearray, now: float) -> None:
        self.receiver.stats.frames += 1
        content = loads(payload)
        for data in content if type(content) is list else (content,):
            self.receiver.record(data, now, None)


def websocket_request(host: str, port: int, path: str, headers: dict[str, str]) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class SseProtocol(RequestProtocol):
    """An HTTP/1.1 GET of an event stream; reads chunked (or close-delimited) bodies and
    SSE messages; checks each event by its `id:` (the seq) and by the `i` in its data."""

    def __init__(self, receiver: Receiver, request: bytes) -> None:
        self.receiver = receiver
        self.request = request
        self.buffer = bytearray()
        self.body = bytearray()
        self.headers_done = False
        self.chunked = False
        self.chunk_left = 0  # bytes of the current chunk still to read (+2 for its CRLF)
        self.closed = False
        self.close_code: int | None = None
        self.transport: asyncio.Transport | None = None
        self.on_lost: Any = None

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.headers_done:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).decode("latin-1")
            del buffer[: end + 4]
            status, *header_lines = head.split("\r\n")
            if " 200 " not in status + " ":
                self.receiver.stats.handshake_failures += 1
                self.receiver.fail(HandshakeError(status))
                self.abort()
                return
            for line in header_lines:
                name, _, value = line.partition(":")
                if name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
                    self.chunked = True
            self.headers_done = True
            self.receiver.set_ready()
        if self.chunked:
            self._dechunk()
        else:
            self.body += buffer
            buffer.clear()
        self._parse_messages()

    def _dechunk(self) -> None:
        buffer = self.buffer
        pos = 0
        size = len(buffer)
        while pos < size:
            if self.chunk_left > 0:
                take = min(self.chunk_left, size - pos)
                self.body += buffer[pos : pos + take]
                self.chunk_left -= take
                pos += take
                if self.chunk_left == 0:
                    self.chunk_left = -2  # the CRLF after the chunk data
                continue
            if self.chunk_left < 0:
                skip = min(-self.chunk_left, size - pos)
                self.chunk_left += skip
                pos += skip
                continue
            end = buffer.find(b"\r\n", pos)
            if end < 0:
                break
            length = int(bytes(buffer[pos:end]).split(b";")[0], 16)
            pos = end + 2
            if length == 0:
                self.closed = True
                break
            self.chunk_left = length
        del buffer[:pos]

    def _parse_messages(self) -> None:
        body = self.body
        now = time.time()
        pos = 0
        while True:
            end = body.find(b"\n\n", pos)
            if end < 0:
                break
            message = bytes(body[pos:end])
            pos = end + 2
            event_id: int | None = None
            event = "message"
            data: list[bytes] = []
            for line in message.split(b"\n"):
                if line.startswith(b"data:"):
                    data.append(line[5:].removeprefix(b" "))
                elif line.startswith(b"id:"):
                    event_id = int(line[3:])
                elif line.startswith(b"event:"):
                    event = line[6:].strip().decode()
            if not data:
                continue
            envelope = loads(b"\n".join(data))
            if event == "resync":
                self.receiver.stats.resyncs += 1
            elif isinstance(envelope, dict) and envelope.get("type") == "event":
                self.receiver.record(envelope["data"], now, event_id)
            else:
                self.receiver.stats.errors[f"unexpected {event}"] += 1
        if pos:
            del body[:pos]

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


def sse_request(host: str, port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Accept: text/event-stream",
        "Cache-Control: no-cache",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
