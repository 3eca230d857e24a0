"""The concrete notification model, unless the site swaps in its own
(`NOTIFICATIONS_NOTIFICATION_MODEL = "app.Notification"`, a subclass of AbstractNotification),
and the record of broadcasts: sends by staff, and sends to everyone, which are stored once."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.inbox.base import AbstractNotification, Level

SWAPPABLE_SETTING = "NOTIFICATIONS_NOTIFICATION_MODEL"


class Notification(AbstractNotification):
    id = models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")

    class Meta(AbstractNotification.Meta):
        abstract = False
        app_label = "notifications"
        swappable = SWAPPABLE_SETTING


def get_notification_model() -> Any:
    """The site's notification model: ours, or the one `NOTIFICATIONS_NOTIFICATION_MODEL` names."""
    return apps.get_model(
        getattr(settings, SWAPPABLE_SETTING, "notifications.Notification"), require_ready=False
    )


class Broadcast(models.Model):
    """A send by staff or to everyone: what it said, to whom, and how many it reached.

    A send to everyone is stored only here: each user's notification row is made the first
    time their inbox is read after it (`notifications.inbox.broadcasts.deliver`). Sends to
    groups or users make their rows at once; their Broadcast is the record of the send."""

    class Audience(models.TextChoices):
        EVERYONE = "everyone", _("everyone")
        GROUPS = "groups", _("groups")
        USERS = "users", _("selected users")

    audience = models.CharField(_("audience"), max_length=16, choices=Audience.choices)
    actor_content_type = models.ForeignKey(
        ContentType,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("actor content type"),
        blank=True,
        null=True,
    )
    actor_object_id = models.CharField(_("actor object id"), max_length=255, blank=True)
    actor = GenericForeignKey("actor_content_type", "actor_object_id")
    verb = models.CharField(_("message"), max_length=255)
    description = models.TextField(_("details"), blank=True)
    level = models.CharField(_("level"), choices=Level.choices, default=Level.INFO, max_length=20)
    data = models.JSONField(_("data"), blank=True, null=True)
    public = models.BooleanField(_("public"), default=True)
    timestamp = models.DateTimeField(_("timestamp"), default=timezone.now)
    seq = models.BigIntegerField(
        _("seq"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Its event's seq on the stream `broadcast`; inboxes take them in this order."),
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("sent by"),
        blank=True,
        null=True,
    )
    reached = models.PositiveIntegerField(
        _("reached"),
        blank=True,
        null=True,
        help_text=_("Users notified; for everyone, the active users when it was sent."),
    )
    task_run = models.ForeignKey(
        "notifications.TaskRun",
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("task run"),
        blank=True,
        null=True,
    )
    created = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        app_label = "notifications"
        ordering = ("-timestamp", "-pk")
        indexes = [models.Index(fields=["audience", "seq"], name="notif_broadcast_seq")]
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")

    def __str__(self) -> str:
        return self.verb


class InboxMark(models.Model):
    """How far a user's inbox has taken in the sends to everyone."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    broadcasts_seen = models.BigIntegerField(
        default=0, help_text="The seq of the last send to everyone delivered into the inbox."
    )

    class Meta:
        app_label = "notifications"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.broadcasts_seen}"
