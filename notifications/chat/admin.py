from __future__ import annotations

from django.contrib import admin

from notifications.chat.models import Room


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["slug", "name", "is_private", "created_at"]
    list_filter = ["is_private"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]
