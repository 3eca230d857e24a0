from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.chat.models import Membership, Message, Room


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "role", "joined_at", "read_seq"]
    readonly_fields = ["read_seq"]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["slug", "name", "kind", "is_private", "created_at"]
    list_filter = ["kind", "is_private"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["created_by"]
    inlines = [MembershipInline]


@admin.action(description=_("Delete the selected messages for everyone"), permissions=["change"])
def delete_messages(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Message]) -> None:
    from notifications.chat.api import delete_message

    deleted = 0
    for message in queryset.filter(deleted=False).select_related("room"):
        delete_message(message, by=request.user)
        deleted += 1
    modeladmin.message_user(
        request,
        ngettext("%d message deleted.", "%d messages deleted.", deleted) % deleted,
        messages.SUCCESS,
    )


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["room", "author", "body", "seq", "created_at", "edited_at", "deleted"]
    list_filter = ["deleted", "room__kind", "created_at"]
    search_fields = ["body", "author__username", "room__slug", "room__name"]
    list_select_related = ["room", "author"]
    readonly_fields = ["room", "author", "body", "seq", "client_id", "created_at", "edited_at"]
    actions = [delete_messages]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
