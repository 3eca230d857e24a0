"""django-notifications-hq's URL slugs: a notification's id plus a constant."""

OFFSET = 110909


def id2slug(notification_id: int) -> int:
    return notification_id + OFFSET


def slug2id(slug: int | str) -> int:
    return int(slug) - OFFSET
