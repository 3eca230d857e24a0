"""Watchers of one run's event stream, in a process of their own: each opens
`/live/tasks/<id>/events/` with its own session (Last-Event-ID 0, parsed by httpx-sse), reads
until the terminal event, and the process prints one JSON summary.

    python -m benchmarks.task_watchers URL SESSION... (sessions on stdin, one per line)
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx
from httpx_sse import aconnect_sse

TERMINAL = {"task.succeeded", "task.failed", "task.cancelled"}


async def watch(
    client: httpx.AsyncClient, url: str, session: str, connected: list[int], total: int
) -> dict[str, Any]:
    seqs: list[int] = []
    delays: list[float] = []
    text: list[str] = []
    terminal = None
    headers = {
        "Accept": "text/event-stream",
        "Last-Event-ID": "0",
        "Cookie": f"sessionid={session}",
    }
    async with aconnect_sse(client, "GET", url, headers=headers) as source:
        connected[0] += 1
        if connected[0] == total:
            print("ready", file=sys.stderr, flush=True)
        async for event in source.aiter_sse():
            if not event.id:
                continue
            arrived = time.time()
            seqs.append(int(event.id))
            data = json.loads(event.data)["data"]
            if event.event == "task.progress":
                delays.append(arrived - float(data["message"]))
            elif event.event == "task.output":
                text.append(data["text"])
            elif event.event in TERMINAL:
                terminal = (event.event, arrived)
                break
    return {"seqs": seqs, "delays": delays, "text": "".join(text), "terminal": terminal}


async def main(url: str, sessions: list[str]) -> None:
    limits = httpx.Limits(max_connections=len(sessions) + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=None, limits=limits) as client:
        connected = [0]
        results = await asyncio.gather(
            *(watch(client, url, session, connected, len(sessions)) for session in sessions)
        )
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.stdin.read().split()))
