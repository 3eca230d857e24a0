from __future__ import annotations

from typing import Any

from rest_framework import serializers

from notifications.models import Event
from notifications.streams import validate_event_type


class EventSerializer(serializers.ModelSerializer[Event]):
    class Meta:
        model = Event
        fields = ["stream", "seq", "type", "data", "created_at"]
        read_only_fields = fields


class HistoryQuerySerializer(serializers.Serializer[Any]):
    since = serializers.IntegerField(min_value=0, required=False, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=100)


class PublishSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(max_length=100)
    data = serializers.JSONField(required=False, allow_null=True, default=None)  # type: ignore[assignment]
    persist = serializers.BooleanField(required=False, default=True)

    def validate_type(self, value: str) -> str:
        try:
            return validate_event_type(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from error
