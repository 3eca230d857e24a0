"""What the app relies on in its dependencies: only public API of asgiref and asyncio, and the
daphne and autobahn hooks the launcher uses (which fail here, loudly, on a release that
changed them)."""

import ast
from pathlib import Path

import autobahn.websocket.protocol
import daphne
import daphne.cli
import daphne.server
import daphne.ws_protocol

PACKAGE = Path(__file__).resolve().parent.parent / "notifications"
PRIVATE = {
    "context_to_thread_executor",
    "main_event_loop",
    "threadlocal",
    "_asyncio_future_blocking",
}
TESTED_DAPHNE = "4.2"


def test_no_private_asgiref_or_asyncio_names():
    used = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
            if name in PRIVATE:
                used.setdefault(name, []).append(f"{path.name}:{node.lineno}")
    assert used == {}


def test_the_daphne_hooks_the_launcher_uses_exist():
    hint = f"notifications.server was tested with daphne {TESTED_DAPHNE}, not {daphne.__version__}"
    assert daphne.cli.CommandLineInterface.server_class is daphne.server.Server, hint
    assert "self.ws_factory = WebSocketFactory(" in Path(daphne.server.__file__).read_text(), hint
    assert hasattr(daphne.ws_protocol.WebSocketProtocol, "serverClose"), hint
    protocol = autobahn.websocket.protocol.WebSocketProtocol
    assert hasattr(protocol, "sendCloseFrame"), "autobahn lost sendCloseFrame"
    options = autobahn.websocket.protocol.WebSocketServerFactory.setProtocolOptions
    assert {"failByDrop", "closeHandshakeTimeout"} <= set(options.__code__.co_varnames), hint
