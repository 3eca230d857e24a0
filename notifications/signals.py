"""`notify.send(actor, recipient=..., verb=..., ...)`, as in django-notifications-hq, and
`notifications_created`: sent once per batch of new notifications (bulk inserts send no
`post_save`), with `sender` the notification model and `notifications` the new rows."""

from django.dispatch import Signal

notify = Signal()
notifications_created = Signal()

__all__ = ["notifications_created", "notify"]
