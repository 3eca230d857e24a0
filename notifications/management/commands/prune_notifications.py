from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from notifications.inbox import broadcasts
from notifications.inbox.models import get_notification_model

CHUNK = 10_000


class Command(BaseCommand):
    help = (
        "Delete notifications older than --days that were read (and, with SOFT_DELETE, the "
        "deleted ones). Unread ones stay: no inbox count changes. Sends to everyone older than "
        "--days are deleted too: a user who first reads their inbox after that never gets them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=float, required=True, help="Keep the last DAYS days.")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days <= 0:
            raise CommandError("--days must be positive.")
        model = get_notification_model()
        before = timezone.now() - timedelta(days=days)
        old = model.objects.filter(Q(unread=False) | Q(deleted=True), timestamp__lt=before)
        deleted = 0
        while ids := list(old.order_by().values_list("pk", flat=True)[:CHUNK]):
            deleted += model.objects.filter(pk__in=ids).delete()[0]
        self.stdout.write(f"Deleted {deleted} notifications.")
        self.stdout.write(f"Deleted {broadcasts.prune(before)} sends to everyone.")
