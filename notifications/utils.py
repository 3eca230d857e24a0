"""django-notifications-hq's `notifications.utils`."""

from notifications.inbox.slugs import id2slug, slug2id

__all__ = ["id2slug", "slug2id"]
