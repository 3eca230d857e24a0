from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Room(models.Model):
    """A chat room, or a direct conversation between two users; its stream is `room:<slug>`."""

    class Kind(models.TextChoices):
        ROOM = "room", _("room")
        DIRECT = "direct", _("direct conversation")

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ROOM)
    is_private = models.BooleanField(
        default=False, help_text="Private rooms are readable by their members only."
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="live_rooms", through="Membership"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
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

    @property
    def members_only(self) -> bool:
        """Private rooms and direct conversations are read by their members alone."""
        return self.is_private or self.kind == self.Kind.DIRECT


class Membership(models.Model):
    """A user in a room: their role, and how far they have read (`read_seq`, the seq of the
    last event of the room's stream they have seen)."""

    class Role(models.TextChoices):
        MEMBER = "member", _("member")
        MODERATOR = "moderator", _("moderator")
        OWNER = "owner", _("owner")

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="live_memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)
    read_seq = models.BigIntegerField(default=0)

    class Meta:
        app_label = "notifications"
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="notifications_membership_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.room}"


class Message(models.Model):
    """A chat message; `seq` is the seq of its `chat.message` event on the room's stream.
    `client_id` (unique per author) makes a retried send store nothing twice."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="live_messages",
    )
    body = models.TextField()
    seq = models.BigIntegerField(null=True, blank=True)
    client_id = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted = models.BooleanField(default=False)

    class Meta:
        app_label = "notifications"
        ordering = ["room", "seq"]
        indexes = [models.Index(fields=["room", "seq"], name="notifications_message_seq")]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "client_id"],
                condition=~Q(client_id=""),
                name="notifications_message_client_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.author}: {self.body[:50]}"
