"""One writer process of `benchmarks.chat`'s throughput part, on the Django environment it
inherits.

    python -m benchmarks.chat_writer --author PK --rooms SLUG[,SLUG...] --seconds T --token X

It prints `{"ready": true}`, waits for `go` on stdin, then calls
`notifications.chat.api.post_message(room, author, body, client_id=...)` in a loop for T
seconds, round robin over the rooms (each with a unique `client_id`, as a WebSocket send has),
and prints one JSON line: `posted` (messages it stored), `t0` and `t1` (`time.time()` at the
first call and after the last one returned), `sent_at` (every live send left), and its CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--author", type=int, required=True, help="the user's pk")
    parser.add_argument("--rooms", required=True, help="room slugs, comma-separated")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from notifications import delivery
    from notifications.chat.api import post_message
    from notifications.chat.models import Room

    author = get_user_model().objects.get(pk=args.author)
    slugs = args.rooms.split(",")
    by_slug = {room.slug: room for room in Room.objects.filter(slug__in=slugs)}
    rooms = [by_slug[slug] for slug in slugs]
    post_message(rooms[0], author, "warm-up", client_id=f"{args.token}-warm")
    print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    cpu = time.process_time()
    t0 = time.time()
    deadline = time.monotonic() + args.seconds
    posted = 0
    while time.monotonic() < deadline:
        room = rooms[posted % len(rooms)]
        result = post_message(room, author, f"message {posted}", client_id=f"{args.token}-{posted}")
        posted += result.created
    t1 = time.time()
    delivery.flush(timeout=120)
    print(
        json.dumps(
            {
                "posted": posted,
                "t0": t0,
                "t1": t1,
                "sent_at": time.time(),
                "cpu": time.process_time() - cpu,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
