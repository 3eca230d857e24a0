"""django-notifications-hq's `notifications.base.models`: the base class of a swapped model."""

from notifications.inbox.api import notify_handler
from notifications.inbox.base import AbstractNotification, NotificationQuerySet, assert_soft_delete
from notifications.inbox.conf import soft_delete as is_soft_delete

__all__ = [
    "AbstractNotification",
    "NotificationQuerySet",
    "assert_soft_delete",
    "is_soft_delete",
    "notify_handler",
]
