from importlib import import_module

from django.apps import AppConfig

DOMAINS = ("chat", "tasks")


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Live notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import_module("notifications.inbox.api")
        package, signals = import_module("notifications"), import_module("notifications.signals")
        package.notify = signals.notify  # type: ignore[attr-defined]
        if self.name != NotificationsConfig.name:
            return
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

    @property
    def default_auto_field(self) -> str:  # type: ignore[override]
        """Ours for this app; django-notifications-hq's AutoField for a site's app whose
        config subclasses this one (a swapped model's)."""
        if self.name == NotificationsConfig.name:
            return NotificationsConfig.default_auto_field
        return "django.db.models.AutoField"
