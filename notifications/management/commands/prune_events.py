from __future__ import annotations

from datetime import timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from notifications import kinds
from notifications.conf import app_settings
from notifications.log import prune_events, stream_filter


class Command(BaseCommand):
    help = (
        "Delete events older than --days (default: each stream kind's retention, else "
        "NOTIFICATIONS['RETENTION_DAYS']). Readers whose cursor falls in the deleted part get "
        "a resync event."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=float, help="Keep events of the last DAYS days.")
        parser.add_argument("--stream", help="Prune this stream only.")

    def handle(self, *args: Any, **options: Any) -> None:
        days, stream = options["days"], options["stream"]
        if days is not None and days <= 0:
            raise CommandError("--days must be positive.")
        now = timezone.now()
        marks: dict[str, int] = {}
        if days is not None:
            marks.update(prune_events(now - timedelta(days=days), stream))
        else:
            own = {
                k.name: k.retention_days for k in kinds.registered().values() if k.retention_days
            }
            default = app_settings.RETENTION_DAYS
            if default is None and not own:
                raise CommandError("Give --days or set NOTIFICATIONS['RETENTION_DAYS'].")
            for name, kind_days in own.items():
                horizon = now - timedelta(days=kind_days)
                marks.update(prune_events(horizon, stream, only=stream_filter(name)))
            if default is not None:
                others = ~reduce(or_, (stream_filter(name) for name in own), Q(pk__in=[]))
                marks.update(prune_events(now - timedelta(days=default), stream, only=others))
        for key, upto in sorted(marks.items()):
            self.stdout.write(f"{key}: deleted events up to #{upto}")
        self.stdout.write(f"Pruned {len(marks)} stream(s).")
