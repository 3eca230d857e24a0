from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from notifications.conf import app_settings
from notifications.streams import prune_events


class Command(BaseCommand):
    help = (
        "Delete events older than --days (default: NOTIFICATIONS['RETENTION_DAYS']). "
        "Readers whose cursor falls in the deleted part get a resync event."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=float, help="Keep events of the last DAYS days.")
        parser.add_argument("--stream", help="Prune this stream only.")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] if options["days"] is not None else app_settings.RETENTION_DAYS
        if days is None:
            raise CommandError("Give --days or set NOTIFICATIONS['RETENTION_DAYS'].")
        if days <= 0:
            raise CommandError("--days must be positive.")
        marks = prune_events(timezone.now() - timedelta(days=days), options["stream"])
        for stream, upto in sorted(marks.items()):
            self.stdout.write(f"{stream}: deleted events up to #{upto}")
        self.stdout.write(f"Pruned {len(marks)} stream(s).")
