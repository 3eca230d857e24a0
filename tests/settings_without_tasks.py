"""The demo settings without the Tasks API apps, as a site that uses no tasks has them."""

from project.settings import *  # noqa: F403

INSTALLED_APPS = [app for app in INSTALLED_APPS if app not in ("django_tasks", "django_tasks_db")]  # noqa: F405
NOTIFICATIONS = {}
