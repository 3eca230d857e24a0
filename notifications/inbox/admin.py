from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from notifications.inbox.models import Notification


class AbstractNotificationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The admin of any notification model (a swapped one too)."""

    raw_id_fields = ["recipient"]
    list_display = [
        "recipient",
        "actor",
        "verb",
        "level",
        "target",
        "unread",
        "public",
        "timestamp",
    ]
    list_filter = ["level", "unread", "public", "emailed", "timestamp"]
    search_fields = ["verb", "description", "recipient__username", "recipient__email"]
    list_select_related = ["recipient"]
    date_hierarchy = "timestamp"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("actor", "target")


@admin.action(description=_("Mark selected notifications as read"))
def mark_read(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    count = queryset.mark_all_as_read()
    modeladmin.message_user(request, _("%d marked as read.") % count, messages.SUCCESS)


@admin.action(description=_("Mark selected notifications as unread"))
def mark_unread(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    count = queryset.mark_all_as_unread()
    modeladmin.message_user(request, _("%d marked as unread.") % count, messages.SUCCESS)


class NotificationAdmin(AbstractNotificationAdmin):
    readonly_fields = ["action_object_url", "actor_object_url", "target_object_url", "read_at"]
    actions = [mark_read, mark_unread]


if not Notification._meta.swapped:
    admin.site.register(Notification, NotificationAdmin)
