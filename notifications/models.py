from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class Stream(models.Model):
    """The head of one stream's log: the last allocated seq and the retention mark."""

    key = models.CharField(max_length=200, primary_key=True)
    last_seq = models.BigIntegerField(default=0)
    pruned_seq = models.BigIntegerField(
        default=0, help_text="Events up to this seq were deleted by retention."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class Event(models.Model):
    """One persisted event; `(stream, seq)` is its cursor."""

    stream = models.CharField(max_length=200)
    seq = models.BigIntegerField()
    type = models.CharField(max_length=100)
    data = models.JSONField(encoder=DjangoJSONEncoder, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["stream", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "seq"], name="notifications_event_cursor"),
        ]

    def __str__(self) -> str:
        return f"{self.stream}#{self.seq} {self.type}"


class Room(models.Model):
    """A chat room; its stream is `room:<slug>`."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    is_private = models.BooleanField(
        default=False, help_text="Private rooms are readable by their members only."
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="live_rooms"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug

    @property
    def stream(self) -> str:
        return f"room:{self.slug}"
