"""One publishing process of `benchmarks.publishing`, on the Django environment it inherits.

    python -m benchmarks.publisher sync  --events M --stream S   # publish() M times
    python -m benchmarks.publisher async --events M --stream S   # await apublish() M times
    python -m benchmarks.publisher many  --streams-prefix P --count K   # one publish_many

It prints one JSON line: `t0` (time.time() before the first call), `stored` (after the last
call returned), `sent` (once every live send left: the sender drained), the first and last
seq, and its own CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["sync", "async", "many"])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--stream", default="broadcast")
    parser.add_argument("--streams-prefix", default="room:bulk")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--wait", action="store_true", help="wait for a line on stdin first")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from notifications import delivery
    from notifications.api import apublish, publish, publish_many
    from notifications.models import Stream

    Stream.objects.exists()  # connect before the clock starts
    if args.wait:
        print(json.dumps({"ready": True}), flush=True)
        input()
    cpu = time.process_time()
    t0 = time.time()
    if args.mode == "sync":
        first = publish(args.stream, "bench", {"i": 0})
        last = first
        for index in range(1, args.events):
            last = publish(args.stream, "bench", {"i": index})
        stored = time.time()
        delivery._background.flush(timeout=120)
    elif args.mode == "async":

        async def run() -> tuple[object, object]:
            first = last = await apublish(args.stream, "bench", {"i": 0})
            for index in range(1, args.events):
                last = await apublish(args.stream, "bench", {"i": index})
            await delivery.aflush()
            return first, last

        first, last = asyncio.run(run())
        stored = time.time()
    else:
        events = publish_many(
            [
                (f"{args.streams_prefix}-{index}", "bench", {"i": index})
                for index in range(args.count)
            ]
        )
        first, last = events[0], events[-1]
        stored = time.time()
        delivery._background.flush(timeout=120)
    sent = time.time()
    print(
        json.dumps(
            {
                "t0": t0,
                "stored": stored,
                "sent": sent,
                "first_seq": first.seq,  # type: ignore[attr-defined]
                "last_seq": last.seq,  # type: ignore[attr-defined]
                "cpu": time.process_time() - cpu,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
