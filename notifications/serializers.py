from __future__ import annotations

from typing import Any

from rest_framework import serializers

from notifications.api import EphemeralEvent
from notifications.log import Event
from notifications.streams import validate_event_type


class EventSerializer(serializers.Serializer[Event | EphemeralEvent]):
    """An event in the wire format's shape, so clients handle API and live events alike."""

    def to_representation(self, instance: Event | EphemeralEvent) -> dict[str, Any]:
        return {
            "type": "event",
            "stream": instance.stream,
            "seq": instance.seq,
            "event": instance.type,
            "data": instance.data,
            "at": instance.created_at.isoformat(),
        }


class HistoryQuerySerializer(serializers.Serializer[Any]):
    since = serializers.IntegerField(min_value=0, required=False, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=100)


class PublishSerializer(serializers.Serializer[Any]):
    event = serializers.CharField(max_length=100, help_text="The event type.")
    data = serializers.JSONField(required=False, allow_null=True, default=None)  # type: ignore[assignment]
    persist = serializers.BooleanField(required=False, default=True)

    def validate_event(self, value: str) -> str:
        try:
            return validate_event_type(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from error
