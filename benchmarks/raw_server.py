"""A minimal raw `websockets` fan-out server: every text message a client sends is broadcast,
with `websockets.broadcast`, to every other connected client. No auth, no framework.

    python -m benchmarks.raw_server --port 8002
"""

from __future__ import annotations

import argparse
import asyncio

from websockets.asyncio.server import ServerConnection, broadcast, serve

CONNECTIONS: set[ServerConnection] = set()


async def handler(websocket: ServerConnection) -> None:
    CONNECTIONS.add(websocket)
    try:
        async for message in websocket:
            broadcast((other for other in CONNECTIONS if other is not websocket), message)
    finally:
        CONNECTIONS.discard(websocket)


async def main(host: str, port: int) -> None:
    async with serve(handler, host, port, compression=None) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port))
