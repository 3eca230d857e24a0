"""daphne, with the WebSocket protocol options the live transports rely on:

    python -m notifications.server -b 127.0.0.1 -p 8000 mysite.asgi:application

takes every daphne option, and changes five defaults: TCP endpoints get a listen backlog of
1024 (daphne's 50 refuses connections when many clients reconnect at once); a WebSocket
handshake has 20 seconds, not 5, to be accepted (under a reconnect storm, handshakes dropped
for being slow come straight back as more reconnects); a protocol
violation (invalid UTF-8, an oversized message) is answered with a close frame (1007, 1009)
instead of a dropped TCP connection; and a client has HEARTBEAT_TIMEOUT seconds, not one, to
read what was sent before a close frame (a slow reader still gets its 4429); and the server may
close with 1008 (policy violation: the session ended). On SIGTERM the process's hub closes
gracefully before the reactor stops (`Hub.aclose`: connections leave their streams, chat
presence removes this process's entries). A text message on an open connection
without compression or fragmenting is framed here, in one step, and frames over plain TCP are
written to the socket at once when nothing is waiting before them, as asyncio's transports do,
instead of in the reactor's next pass.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import sys
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import defer, reactor, tcp

logger = logging.getLogger("notifications")

BACKLOG = 1024
HANDSHAKE_TIMEOUT = 20
PROTOCOL_CLOSE_CODES = frozenset({1001, 1008, 1011})


class LiveWebSocketProtocol(WebSocketProtocol):  # type: ignore[misc]
    def handle_reply(self, message: dict[str, Any]) -> None:
        text = message.get("text")
        if (
            text
            and message.get("type") == "websocket.send"
            and message.get("bytes") is None
            and self.state == self.STATE_OPEN
            and self.send_state == self.SEND_STATE_GROUND
            and self._perMessageCompress is None
            and not self.autoFragmentSize
            and not self.maskServerFrames
        ):
            payload = text.encode()
            if not 0 < self.maxMessagePayloadSize < len(payload):
                self.sendData(text_frame_header(len(payload)) + payload)
                return
        super().handle_reply(message)

    def sendData(self, data: bytes, sync: bool = False, chopsize: int | None = None) -> None:
        if sync or chopsize or self.send_queue or not write_through(self.transport, data):
            super().sendData(data, sync, chopsize)

    def serverClose(self, code: int | None = None) -> None:
        """Close codes the protocol defines for servers (1008 policy violation, …), which
        autobahn only lets its own failures send."""
        if code in PROTOCOL_CLOSE_CODES:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            super().serverClose(code)


def text_frame_header(length: int) -> bytes:
    """FIN and the text opcode, then the payload length (unmasked: a server's frame)."""
    if length < 126:
        return bytes((0x81, length))
    if length < 0x10000:
        return struct.pack("!BBH", 0x81, 126, length)
    return struct.pack("!BBQ", 0x81, 127, length)


def write_through(transport: Any, data: bytes) -> bool:
    """Send `data` on a plain TCP transport with nothing buffered, handing Twisted only what
    the socket did not take. False leaves the whole write to the transport (TLS, a write
    already waiting, a closing or failed socket)."""
    if (
        not isinstance(transport, tcp.Server)
        or not transport.connected
        or transport.disconnecting
        or transport._writeDisconnected
        or transport._tempDataLen
        or transport.offset < len(transport.dataBuffer)
    ):
        return False
    try:
        sent = transport.socket.send(data)
    except OSError:
        return False
    if sent < len(data):
        transport.write(data[sent:])  # type: ignore[no-untyped-call]
    return True


def with_backlog(endpoint: str, backlog: int = BACKLOG) -> str:
    if endpoint.startswith("tcp:") and ":backlog=" not in endpoint:
        return f"{endpoint}:backlog={backlog}"
    return endpoint


class LiveServer(Server):  # type: ignore[misc]
    def __init__(self, *args: Any, endpoints: list[str], **kwargs: Any) -> None:
        super().__init__(*args, endpoints=[with_backlog(e) for e in endpoints], **kwargs)

    def run(self) -> None:
        reactor.callWhenRunning(self.set_websocket_options)
        reactor.addSystemEventTrigger("before", "shutdown", self.close_hub)  # type: ignore[arg-type]
        super().run()

    def close_hub(self) -> defer.Deferred[None] | None:
        """Before the reactor stops (SIGTERM, SIGINT), while its event loop still runs."""
        loop = getattr(reactor, "_asyncioEventloop", None)
        if "notifications.hub" not in sys.modules or loop is None or loop.is_closed():
            return None
        from notifications.hub import aclose_hub

        closing = asyncio.ensure_future(aclose_hub(), loop=loop)
        deferred: defer.Deferred[None] = defer.Deferred.fromFuture(closing)
        deferred.addErrback(lambda failure: logger.warning("Closing the hub failed: %s", failure))
        return deferred

    def set_websocket_options(self) -> None:
        self.ws_factory.protocol = LiveWebSocketProtocol
        self.ws_factory.setProtocolOptions(
            failByDrop=False, closeHandshakeTimeout=close_handshake_timeout()
        )


def close_handshake_timeout() -> float:
    try:
        from notifications.conf import app_settings

        return app_settings.HEARTBEAT_TIMEOUT
    except Exception:
        return 20.0


class LiveCommandLineInterface(CommandLineInterface):  # type: ignore[misc]
    description = "daphne for django-live-notifications"
    server_class = LiveServer

    def __init__(self) -> None:
        super().__init__()
        self.parser.set_defaults(websocket_connect_timeout=HANDSHAKE_TIMEOUT)


def main(argv: list[str] | None = None) -> None:
    LiveCommandLineInterface().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
