"""django-notifications-hq's `notifications.settings`."""

from notifications.inbox.conf import DEFAULTS as CONFIG_DEFAULTS
from notifications.inbox.conf import get_config

__all__ = ["CONFIG_DEFAULTS", "get_config"]
