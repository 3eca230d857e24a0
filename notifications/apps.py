from importlib import import_module

from django.apps import AppConfig

DOMAINS = ("chat", "tasks")


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Live notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from notifications import auth, checks, kinds

        checks.register_checks()
        kinds.register_builtin()
        for domain in DOMAINS:
            import_module(f"notifications.{domain}.kinds").register()
        import_module("notifications.tasks.checks").register_checks()
        import_module("notifications.inbox.api")
        user_logged_out.connect(auth.on_logout, dispatch_uid="notifications.auth.on_logout")


class Config(NotificationsConfig):
    """django-notifications-hq's app config, for sites that name it in INSTALLED_APPS or
    subclass it."""

    default = False
