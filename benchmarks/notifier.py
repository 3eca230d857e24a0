"""One `notify()` of `benchmarks.inbox`, in a process of its own, on the environment it inherits.

    python -m benchmarks.notifier --count N      # notify the first N users (by id)
    python -m benchmarks.notifier --users N      # create N users first (once per database)

It prints one JSON line: `seconds` to store (notify() returned), `sent` (every live send
left), the queries it made, the channel-layer messages it sent, and its own CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--users", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from asgiref.sync import async_to_sync
    from django.contrib.auth import get_user_model
    from django.db import connection

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
    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    cpu = time.process_time()
    started = time.monotonic()
    with connection.execute_wrapper(count):
        notified = notify(audience, "benchmark", description="one notify() to many users")
    stored = time.monotonic() - started
    delivery.flush(timeout=300)
    sent = time.monotonic() - started
    print(
        json.dumps(
            {
                "notified": notified,
                "seconds": stored,
                "sent": sent,
                "queries": queries,
                "layer_messages": messages,
                "cpu": time.process_time() - cpu,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
