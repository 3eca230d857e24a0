from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from notifications.chat import admin as chat_admin
from notifications.inbox import admin as inbox_admin
from notifications.log import Event, Stream
from notifications.tasks import admin as tasks_admin

__all__ = ["EventAdmin", "StreamAdmin", "chat_admin", "inbox_admin", "tasks_admin"]


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["key", "last_seq", "pruned_seq", "updated_at"]
    search_fields = ["key"]
    readonly_fields = ["key", "last_seq", "pruned_seq", "created_at", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["stream", "seq", "type", "created_at"]
    list_filter = ["type"]
    search_fields = ["stream", "type"]
    readonly_fields = ["stream", "seq", "type", "data", "created_at"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False
