from __future__ import annotations

from typing import Any

from rest_framework import serializers


class NotificationSerializer(serializers.Serializer[Any]):
    """A notification as the API shows it; `actor`, `target` and `action_object` as text."""

    id = serializers.IntegerField(read_only=True)
    slug = serializers.IntegerField(read_only=True)
    level = serializers.CharField(read_only=True)
    verb = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True, allow_null=True)
    actor = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    action_object = serializers.SerializerMethodField()
    unread = serializers.BooleanField(read_only=True)
    read_at = serializers.DateTimeField(read_only=True, allow_null=True)
    timestamp = serializers.DateTimeField(read_only=True)
    public = serializers.BooleanField(read_only=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["data"] = serializers.JSONField(read_only=True, allow_null=True)
        return fields

    def get_actor(self, notification: Any) -> str | None:
        return _text(notification.actor)

    def get_target(self, notification: Any) -> str | None:
        return _text(notification.target)

    def get_action_object(self, notification: Any) -> str | None:
        return _text(notification.action_object)


class UnreadCountSerializer(serializers.Serializer[Any]):
    unread_count = serializers.IntegerField(read_only=True)


def _text(related: Any) -> str | None:
    return None if related is None else str(related)
