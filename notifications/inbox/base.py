"""The notification model every site shares (and may extend with a swapped model of its own):
django-notifications-hq's fields, queryset and methods, with a read time, indexes for large
inboxes, and a live push on every change."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince as timesince_
from django.utils.translation import gettext_lazy as _

from notifications.inbox import live
from notifications.inbox.conf import soft_delete
from notifications.inbox.slugs import id2slug


class Level(models.TextChoices):
    SUCCESS = "success", "success"
    INFO = "info", "info"
    WARNING = "warning", "warning"
    ERROR = "error", "error"


class _Levels:
    """`Notification.LEVELS.info` and friends, as django-notifications-hq spells them."""

    success = Level.SUCCESS.value
    info = Level.INFO.value
    warning = Level.WARNING.value
    error = Level.ERROR.value

    def __iter__(self) -> Any:
        return iter(Level.choices)


def assert_soft_delete() -> None:
    if not soft_delete():
        raise ImproperlyConfigured(
            "deleted() and active() need DJANGO_NOTIFICATIONS_CONFIG['SOFT_DELETE'] = True."
        )


class NotificationQuerySet(models.QuerySet[Any]):
    """django-notifications-hq's queryset. The `mark_*` methods update in one statement and push
    each affected recipient's new unread count."""

    def unsent(self) -> NotificationQuerySet:
        return self.filter(emailed=False)

    def sent(self) -> NotificationQuerySet:
        return self.filter(emailed=True)

    def unread(self, include_deleted: bool = False) -> NotificationQuerySet:
        """Unread notifications (without the soft-deleted ones, when SOFT_DELETE is on)."""
        if soft_delete() and not include_deleted:
            return self.filter(unread=True, deleted=False)
        return self.filter(unread=True)

    def read(self, include_deleted: bool = False) -> NotificationQuerySet:
        if soft_delete() and not include_deleted:
            return self.filter(unread=False, deleted=False)
        return self.filter(unread=False)

    def mark_all_as_read(self, recipient: Any = None) -> int:
        """Mark every unread notification here (of `recipient`, if given) as read."""
        chosen = self.unread(True)
        if recipient:
            chosen = chosen.filter(recipient=recipient)
        return chosen._update_and_push(live.READ_ALL, unread=False, read_at=timezone.now())

    def mark_all_as_unread(self, recipient: Any = None) -> int:
        chosen = self.read(True)
        if recipient:
            chosen = chosen.filter(recipient=recipient)
        return chosen._update_and_push(live.UNREAD_ALL, unread=True, read_at=None)

    def deleted(self) -> NotificationQuerySet:
        assert_soft_delete()
        return self.filter(deleted=True)

    def active(self) -> NotificationQuerySet:
        assert_soft_delete()
        return self.filter(deleted=False)

    def mark_all_as_deleted(self, recipient: Any = None) -> int:
        chosen = self.active()
        if recipient:
            chosen = chosen.filter(recipient=recipient)
        return chosen._update_and_push(live.DELETED_ALL, deleted=True)

    def mark_all_as_active(self, recipient: Any = None) -> int:
        chosen = self.deleted()
        if recipient:
            chosen = chosen.filter(recipient=recipient)
        return chosen._update_and_push(live.RESTORED_ALL, deleted=False)

    def mark_as_unsent(self, recipient: Any = None) -> int:
        chosen = self.sent()
        if recipient:
            chosen = chosen.filter(recipient=recipient)
        return chosen.update(emailed=False)

    def mark_as_sent(self, recipient: Any = None) -> int:
        chosen = self.unsent()
        if recipient:
            chosen = chosen.filter(recipient=recipient)
        return chosen.update(emailed=True)

    def _update_and_push(self, event: str, **changes: Any) -> int:
        recipients = list(self.values_list("recipient_id", flat=True).distinct().order_by())
        updated = self.update(**changes)
        if updated:
            live.push_counts(self.model, recipients, event)
        return updated


class AbstractNotification(models.Model):
    """A notification in a user's inbox: `actor` `verb` (`action_object`) (on `target`)."""

    LEVELS = _Levels()

    level = models.CharField(_("level"), choices=Level.choices, default=Level.INFO, max_length=20)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
        blank=False,
        db_index=False,
    )
    unread = models.BooleanField(_("unread"), default=True, blank=False)
    actor_content_type = models.ForeignKey(
        ContentType,
        on_delete=models.CASCADE,
        related_name="notify_actor",
        verbose_name=_("actor content type"),
        blank=True,
        null=True,
        db_index=False,
    )
    actor_object_id = models.CharField(_("actor object id"), max_length=255, blank=True, null=True)
    actor = GenericForeignKey("actor_content_type", "actor_object_id")
    actor.short_description = _("actor")  # type: ignore[attr-defined]
    verb = models.CharField(_("verb"), max_length=255)
    description = models.TextField(_("description"), blank=True, null=True)
    target_content_type = models.ForeignKey(
        ContentType,
        on_delete=models.CASCADE,
        related_name="notify_target",
        verbose_name=_("target content type"),
        blank=True,
        null=True,
        db_index=False,
    )
    target_object_id = models.CharField(
        _("target object id"), max_length=255, blank=True, null=True
    )
    target = GenericForeignKey("target_content_type", "target_object_id")
    target.short_description = _("target")  # type: ignore[attr-defined]
    action_object_content_type = models.ForeignKey(
        ContentType,
        on_delete=models.CASCADE,
        related_name="notify_action_object",
        verbose_name=_("action object content type"),
        blank=True,
        null=True,
        db_index=False,
    )
    action_object_object_id = models.CharField(
        _("action object object id"), max_length=255, blank=True, null=True
    )
    action_object = GenericForeignKey("action_object_content_type", "action_object_object_id")
    action_object.short_description = _("action object")  # type: ignore[attr-defined]
    timestamp = models.DateTimeField(_("timestamp"), default=timezone.now, db_index=True)
    public = models.BooleanField(_("public"), default=True)
    deleted = models.BooleanField(_("deleted"), default=False)
    emailed = models.BooleanField(_("emailed"), default=False)
    data = models.JSONField(_("data"), blank=True, null=True)
    read_at = models.DateTimeField(_("read at"), blank=True, null=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ("-timestamp",)
        indexes = [
            models.Index(fields=["recipient", "unread"]),
            models.Index(fields=["recipient", "-timestamp"]),
            models.Index(fields=["actor_content_type", "actor_object_id"]),
            models.Index(fields=["target_content_type", "target_object_id"]),
            models.Index(fields=["action_object_content_type", "action_object_object_id"]),
        ]
        verbose_name = _("Notification")
        verbose_name_plural = _("Notifications")

    def __str__(self) -> str:
        context = {
            "actor": self.actor or "",
            "verb": self.verb,
            "action_object": self.action_object,
            "target": self.target,
            "timesince": self.timesince(),
        }
        if self.target:
            if self.action_object:
                text = _("%(actor)s %(verb)s %(action_object)s on %(target)s %(timesince)s ago")
            else:
                text = _("%(actor)s %(verb)s %(target)s %(timesince)s ago")
        elif self.action_object:
            text = _("%(actor)s %(verb)s %(action_object)s %(timesince)s ago")
        else:
            text = _("%(actor)s %(verb)s %(timesince)s ago")
        return str(text % context).strip()

    def timesince(self, now: Any = None) -> str:
        """The time since it was sent, as `django.utils.timesince` words it."""
        return timesince_(self.timestamp, now)

    def naturalday(self) -> str:
        """'today', 'yesterday', or the date."""
        from django.contrib.humanize.templatetags.humanize import naturalday

        return str(naturalday(self.timestamp))

    def naturaltime(self) -> str:
        """'now', '2 minutes ago', …"""
        from django.contrib.humanize.templatetags.humanize import naturaltime

        return str(naturaltime(self.timestamp))

    @property
    def slug(self) -> int:
        return id2slug(self.pk)

    def mark_as_read(self) -> None:
        if self.unread:
            self.unread = False
            self.read_at = timezone.now()
            self.save(update_fields=["unread", "read_at"])
            live.push_change(self, live.READ)

    def mark_as_unread(self) -> None:
        if not self.unread:
            self.unread = True
            self.read_at = None
            self.save(update_fields=["unread", "read_at"])
            live.push_change(self, live.UNREAD)

    def remove(self) -> None:
        """Take it out of the inbox: delete it, or with SOFT_DELETE mark it `deleted`; pushes
        `notification.deleted` with the recipient's new unread count."""
        pk = self.pk
        if soft_delete():
            self.deleted = True
            self.save(update_fields=["deleted"])
        else:
            self.delete()
        live.push_change(self, live.DELETED, pk)

    def actor_object_url(self) -> str:
        return _admin_link(self.actor_content_type, self.actor_object_id)

    def target_object_url(self) -> str:
        return _admin_link(self.target_content_type, self.target_object_id)

    def action_object_url(self) -> str:
        return _admin_link(self.action_object_content_type, self.action_object_object_id)


def _admin_link(content_type: ContentType | None, object_id: str | None) -> str:
    if content_type is None or object_id is None:
        return ""
    try:
        url = reverse(
            f"admin:{content_type.app_label}_{content_type.model}_change", args=(object_id,)
        )
    except NoReverseMatch:
        return object_id
    return format_html("<a href='{}'>{}</a>", url, object_id)
