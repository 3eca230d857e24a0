"""The one sender of a load-tool run, in its own process.

    python -m benchmarks.senders TARGET --events E [--interval S] --token T [--url URL]

TARGET is
- `ours`: `notifications.api.apublish("broadcast", "bench", data)` (stores the event in the DB,
  then sends it through the channel layer to every server process's hub);
- `tutorial`: `channel_layer.group_send("chat_<room>", {"type": "chat.message", "message":
  data})`, the exact call the tutorial consumer makes when it receives a chat message (so the
  baseline is spared the extra hop through one consumer's `receive`, and has no DB write);
- `raw`: a WebSocket client that sends each event as a text frame to `raw_server.py`, which
  broadcasts it to every other connection. The frame is the event as our app frames it
  (`{"type": "event", "stream": ..., "seq": ..., "event": ..., "data": data, "at": ...}`), so
  both servers' receivers read the same bytes;
- `raw-bare`: the same, each event sent as its bare `data`.

With `--streams S1,S2,...` (ours) every event goes to each of those streams (public rooms are
created for `room:` streams): `--publish single` makes one `apublish` per stream, `--publish
many` one `apublish_many` of all of them.

`data` is `{"r": token, "i": i, "t": time.time()}`: the run's token, the event's index 0..E-1
and its send time (receivers compute latency as their clock minus `t`; same machine).

The load tool drives it over stdin/stdout, one JSON object per line: the sender prints
`{"ready": ..., "head": <last seq of the stream, ours only>}`, waits for a `go` line, sends, prints
`{"first_send": ..., "last_send": ..., "sent": ..., "first_seq": ..., "last_seq": ...}`, then
waits for stdin to close. Sends are sequential: each one is awaited before the next ("as fast as
the sender can" in burst mode; one every `--interval` seconds otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
import time
from typing import Any


def emit(value: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


async def read_line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def pace(started: float, index: int, interval: float) -> None:
    if interval > 0:
        delay = started + index * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


async def run_django(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer

    from notifications.api import aflush, apublish, apublish_many
    from notifications.models import Stream

    layer = get_channel_layer()
    streams = args.streams.split(",") if args.streams else [args.stream]

    def prepare() -> int:
        rooms = [stream.split(":", 1)[1] for stream in streams if stream.startswith("room:")]
        if rooms:
            from notifications.chat.models import Room

            Room.objects.bulk_create(
                [Room(slug=slug, name=slug) for slug in rooms], ignore_conflicts=True
            )
        row = Stream.objects.filter(key=streams[0]).values_list("last_seq", flat=True).first()
        return int(row or 0)

    head = await sync_to_async(prepare)()
    # Warm the layer's Redis connection pool so the first event does not pay for it.
    await layer.group_send("bench.warmup", {"type": "bench.warmup"})
    emit({"ready": True, "head": head, "pid": os.getpid()})
    if (await read_line()).strip() != "go":
        return
    first_seq = last_seq = None
    group = f"chat_{args.room}"
    cpu = time.process_time()
    started = time.monotonic()
    first_send = time.time()
    for index in range(args.events):
        await pace(started, index, args.interval)
        data = {"r": args.token, "i": index, "t": time.time()}
        if args.target == "ours":
            if args.publish == "many":
                event = (await apublish_many([(stream, "bench", data) for stream in streams]))[0]
            else:
                event = await apublish(streams[0], "bench", data)
                for stream in streams[1:]:
                    await apublish(stream, "bench", data)
            last_seq = event.seq
            if first_seq is None:
                first_seq = event.seq
        else:
            await layer.group_send(group, {"type": "chat.message", "message": data})
    last_send = time.time()
    if args.target == "ours":
        await aflush()
    emit(
        {
            "first_send": first_send,
            "last_send": last_send,
            "sent": args.events,
            "first_seq": first_seq,
            "last_seq": last_seq,
            "cpu": time.process_time() - cpu,
        }
    )
    await read_line()


def event_frame(seq: int, data: dict[str, Any]) -> str:
    at = datetime.datetime.now(datetime.UTC).isoformat()
    event = {"type": "event", "stream": "broadcast", "seq": seq, "event": "bench"}
    return json.dumps({**event, "data": data, "at": at}, separators=(",", ":"))


async def run_raw(args: argparse.Namespace) -> None:
    from websockets.asyncio.client import connect

    bare = args.target == "raw-bare"
    async with connect(args.url, compression=None, max_size=None) as websocket:
        emit({"ready": True, "head": None, "pid": os.getpid()})
        if (await read_line()).strip() != "go":
            return
        cpu = time.process_time()
        started = time.monotonic()
        first_send = time.time()
        for index in range(args.events):
            await pace(started, index, args.interval)
            data = {"r": args.token, "i": index, "t": time.time()}
            await websocket.send(json.dumps(data) if bare else event_frame(index + 1, data))
        last_send = time.time()
        emit(
            {
                "first_send": first_send,
                "last_send": last_send,
                "sent": args.events,
                "first_seq": None if bare else 1,
                "last_seq": None if bare else args.events,
                "cpu": time.process_time() - cpu,
            }
        )
        await read_line()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=["ours", "tutorial", "raw", "raw-bare"])
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--interval", type=float, default=0.0)
    parser.add_argument("--token", required=True)
    parser.add_argument("--stream", default="broadcast")
    parser.add_argument(
        "--streams", help="ours: a comma-separated list; each event goes to every one of them"
    )
    parser.add_argument(
        "--publish",
        choices=["single", "many"],
        default="single",
        help="ours with --streams: one apublish per stream, or one apublish_many per event",
    )
    parser.add_argument("--room", default="bench")
    parser.add_argument("--url", help="raw: the server's ws:// URL")
    args = parser.parse_args()
    raw = args.target.startswith("raw")
    asyncio.run(run_raw(args) if raw else run_django(args))


if __name__ == "__main__":
    main()
