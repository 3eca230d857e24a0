from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


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
        app_label = "notifications"
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug

    @property
    def stream(self) -> str:
        return f"room:{self.slug}"
