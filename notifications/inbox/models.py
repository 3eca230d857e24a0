"""The concrete notification model, unless the site swaps in its own
(`NOTIFICATIONS_NOTIFICATION_MODEL = "app.Notification"`, a subclass of AbstractNotification)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models

from notifications.inbox.base import AbstractNotification

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
