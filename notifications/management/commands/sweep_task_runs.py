from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from notifications.conf import app_settings
from notifications.tasks.sweeper import sweep


class Command(BaseCommand):
    help = (
        "Fail the running task runs whose worker stopped beating (no heartbeat for "
        "TASK_WORKER_TIMEOUT seconds) with reason worker_lost. Run it from cron for runs "
        "nobody watches; watched runs are swept by the servers."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        ended = sweep()
        self.stdout.write(
            f"Ended {ended} run(s) without a heartbeat for {app_settings.TASK_WORKER_TIMEOUT:g} s."
        )
