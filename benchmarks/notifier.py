"""One `notify()` of `benchmarks.inbox`, in a process of its own, on the environment it inherits.

    python -m benchmarks.notifier --count N      # notify the first N users (by id)
    python -m benchmarks.notifier --users N      # create N users first (once per database)
    python -m benchmarks.notifier --count N --wait --token T

It prints one JSON line: `seconds` to store (notify() returned), `sent` (every live send
left), the queries it made, the channel-layer messages it sent, and its own CPU seconds.

With `--wait` (the load tool's `inbox` mode drives it) it first prints `{"ready": true, ...}`
and waits for a `go` line on stdin; the notification's data is then `{"r": T, "i": 0, "t":
<time.time() when notify() was called>}`, so each reader can tell how long it took, and the
line also has `t0`, `returned_at` and `sent_at` (`time.time()` values, one clock for every
process on the machine).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--users", type=int, default=0)
    parser.add_argument("--wait", action="store_true", help="wait for `go` on stdin first")
    parser.add_argument("--token", help="put {r: TOKEN, i: 0, t: <call time>} in the data")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from asgiref.sync import async_to_sync
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.backends.signals import connection_created

    from notifications import delivery
    from notifications.inbox.api import notify

    users = get_user_model().objects
    if args.users:
        users.bulk_create(
            [users.model(username=f"inbox{n}") for n in range(args.users)], batch_size=5000
        )
        print(json.dumps({"users": users.count()}), flush=True)
        return
    first = users.order_by("pk").values_list("pk", flat=True).first()
    assert first is not None
    audience = users.filter(pk__gte=first, pk__lt=first + args.count)
    layer = delivery.get_layer()
    messages = 0
    group_send = layer.group_send

    async def counted(group: str, message: dict[str, Any]) -> None:
        nonlocal messages
        messages += 1
        await group_send(group, message)

    layer.group_send = counted
    async_to_sync(layer.group_send)("bench.warmup", {"type": "bench.warmup"})
    messages = 0
    queries = itertools.count()

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        next(queries)
        return execute(sql, params, many, context)

    def count_on(sender: Any, connection: Any, **kwargs: Any) -> None:
        """notify() may store batches on connections of other threads: count theirs too."""
        connection.execute_wrappers.append(count)

    connection_created.connect(count_on, weak=False)

    if args.wait:
        print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
        if sys.stdin.readline().strip() != "go":
            return
    cpu = time.process_time()
    t0 = time.time()
    started = time.monotonic()
    data = {"r": args.token, "i": 0, "t": t0} if args.token else None
    with connection.execute_wrapper(count):
        notified = notify(
            audience, "benchmark", description="one notify() to many users", data=data
        )
    stored = time.monotonic() - started
    returned_at = time.time()
    delivery.flush(timeout=300)
    sent = time.monotonic() - started
    print(
        json.dumps(
            {
                "notified": notified,
                "seconds": stored,
                "sent": sent,
                "queries": next(queries),
                "layer_messages": messages,
                "cpu": time.process_time() - cpu,
                "t0": t0,
                "returned_at": returned_at,
                "sent_at": time.time(),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
