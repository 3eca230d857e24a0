from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from notifications.models import Event, Room, Stream


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


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["slug", "name", "is_private", "created_at"]
    list_filter = ["is_private"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]
