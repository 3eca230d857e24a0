"""django-notifications-hq's `notifications.base.admin`."""

from notifications.inbox.admin import AbstractNotificationAdmin

__all__ = ["AbstractNotificationAdmin"]
