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
- `chat`: one WebSocket per `--sessions` key (each a different logged-in user), spread over
  `--ports` round-robin, each sending `--events` `chat.send` frames to `--room`; sender j of
  S sends its k-th message at `(k * S + j) * interval` seconds after `go`, so the S senders
  together send one message every `--interval` seconds. Each frame's `client_id` is
  `<token>-<j>-<k>` and its body `<token> <time.time() when sent>` (the members' latency is
  their clock minus that). It reports the acks: their latency (ack received - sent), the seqs
  they carry (each once, consecutive over all senders), duplicates, and error frames by code.

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
import contextlib
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


async def run_chat(args: argparse.Namespace) -> None:
    from websockets.asyncio.client import connect

    ports = [int(port) for port in args.ports.split(",")]
    sessions = args.sessions.split(",")
    count = len(sessions)
    sockets = []
    for index, session in enumerate(sessions):
        port = ports[index % len(ports)]
        websocket = await connect(
            f"ws://127.0.0.1:{port}/ws/live/",
            additional_headers={"Cookie": f"sessionid={session}"},
            origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
            compression=None,
            max_size=None,
        )
        welcome = json.loads(await websocket.recv())
        assert welcome.get("type") == "welcome", welcome
        sockets.append(websocket)
    head = await head_of(f"room:{args.room}")
    emit({"ready": True, "head": head, "pid": os.getpid()})
    if (await read_line()).strip() != "go":
        return
    pending: dict[str, float] = {}
    ack_latencies: list[float] = []
    seqs: list[int] = []
    errors: dict[str, int] = {}
    duplicates = 0
    done = asyncio.Event()
    total = count * args.events

    async def read(websocket: Any) -> None:
        nonlocal duplicates
        async for text in websocket:
            now = time.time()
            content = json.loads(text)
            for message in content if isinstance(content, list) else [content]:
                kind = message.get("type")
                if kind == "ping":
                    await websocket.send(json.dumps({"type": "pong", "id": message["id"]}))
                elif kind == "ack":
                    sent = pending.pop(message.get("client_id"), None)
                    if sent is not None:
                        ack_latencies.append(now - sent)
                        seqs.append(message["seq"])
                        duplicates += bool(message.get("duplicate"))
                elif kind == "error":
                    code = str(message.get("code"))
                    errors[code] = errors.get(code, 0) + 1
                    pending.pop(message.get("client_id"), None)
                if len(ack_latencies) + sum(errors.values()) >= total:
                    done.set()

    async def send(index: int, websocket: Any) -> None:
        for number in range(args.events):
            await pace(started, number * count + index, args.interval)
            client_id = f"{args.token}-{index}-{number}"
            sent = time.time()
            pending[client_id] = sent
            frame = {"type": "chat.send", "room": args.room, "client_id": client_id}
            await websocket.send(json.dumps({**frame, "body": f"{args.token} {sent!r}"}))

    readers = [asyncio.create_task(read(websocket)) for websocket in sockets]
    cpu = time.process_time()
    started = time.monotonic()
    first_send = time.time()
    await asyncio.gather(*(send(index, websocket) for index, websocket in enumerate(sockets)))
    last_send = time.time()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 60)
    cpu = time.process_time() - cpu
    for task in readers:
        task.cancel()
    ordered = sorted(seqs)
    latencies = sorted(ack_latencies)

    def ms(fraction: float) -> float | None:
        if not latencies:
            return None
        return 1000 * latencies[min(len(latencies) - 1, round(fraction * (len(latencies) - 1)))]

    emit(
        {
            "first_send": first_send,
            "last_send": last_send,
            "sent": total,
            "acked": len(seqs),
            "unanswered": len(pending),
            "errors": errors,
            "duplicates": duplicates,
            # Acked seqs must be head + 1 .. head + acked, each once.
            "seq_problems": sum(
                1 for offset, seq in enumerate(ordered, start=head + 1) if seq != offset
            ),
            "first_seq": ordered[0] if ordered else None,
            "last_seq": ordered[-1] if ordered else None,
            "ack_p50_ms": ms(0.5),
            "ack_p99_ms": ms(0.99),
            "ack_max_ms": ms(1.0),
            "cpu": cpu,
        }
    )
    await read_line()
    for websocket in sockets:
        await websocket.close()


async def head_of(stream: str) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from asgiref.sync import sync_to_async

    from notifications.log import read_heads

    heads = await sync_to_async(read_heads)([stream])
    return int(heads.get(stream, 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=["ours", "tutorial", "raw", "raw-bare", "chat"])
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
    parser.add_argument("--ports", help="chat: the servers' ports, comma-separated")
    parser.add_argument("--sessions", help="chat: one sessionid per sender, comma-separated")
    args = parser.parse_args()
    if args.target == "chat":
        asyncio.run(run_chat(args))
        return
    raw = args.target.startswith("raw")
    asyncio.run(run_raw(args) if raw else run_django(args))


if __name__ == "__main__":
    main()
