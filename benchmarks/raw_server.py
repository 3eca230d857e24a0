"""A minimal raw `websockets` fan-out server: every text message a client sends is broadcast,
with `websockets.broadcast`, to every other connected client. No auth, no framework.

    python -m benchmarks.raw_server --port 8002 [--batch]

With `--batch` it batches the way our app does under load: the messages that arrive in one pass
of the event loop go out together, as one JSON array frame per connection (the benchmark's sender
sends each event as a JSON object framed like our app's), so its frame count falls as the rate
rises. That is the fair ceiling for our app's
array frames; without it, one frame per message.
"""

from __future__ import annotations

import argparse
import asyncio

from websockets.asyncio.server import ServerConnection, broadcast, serve

CONNECTIONS: set[ServerConnection] = set()


class Batcher:
    def __init__(self) -> None:
        self.pending: list[str] = []
        self.sources: set[ServerConnection] = set()

    def add(self, source: ServerConnection, message: str) -> None:
        if not self.pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self.pending.append(message)
        self.sources.add(source)

    def flush(self) -> None:
        frame = self.pending[0] if len(self.pending) == 1 else "[" + ",".join(self.pending) + "]"
        sources = self.sources
        self.pending, self.sources = [], set()
        broadcast((other for other in CONNECTIONS if other not in sources), frame)


def make_handler(batch: bool):  # type: ignore[no-untyped-def]
    batcher = Batcher()

    async def handler(websocket: ServerConnection) -> None:
        CONNECTIONS.add(websocket)
        try:
            async for message in websocket:
                if batch:
                    batcher.add(websocket, str(message))
                else:
                    broadcast((other for other in CONNECTIONS if other is not websocket), message)
        finally:
            CONNECTIONS.discard(websocket)

    return handler


async def main(host: str, port: int, batch: bool) -> None:
    async with serve(make_handler(batch), host, port, compression=None) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--batch", action="store_true", help="one array frame per loop pass")
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port, args.batch))
