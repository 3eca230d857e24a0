from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.validators import MaxLengthValidator
from rest_framework import serializers
from rest_framework.fields import empty

from notifications.chat.models import Membership, Message, Room
from notifications.conf import app_settings


class PersonSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(read_only=True, source="pk")
    name = serializers.CharField(read_only=True, source="get_username")


class RoomSerializer(serializers.Serializer[Room]):
    """A room as the API shows it: `head` is the seq of its stream's last event (subscribe to
    `stream` after it), `read_seq` how far I have read, `unread` the messages by others after
    that; `with` is the other person of a direct conversation."""

    slug = serializers.SlugField(read_only=True)
    name = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(choices=Room.Kind.choices, read_only=True)
    is_private = serializers.BooleanField(read_only=True)
    stream = serializers.CharField(read_only=True)
    head = serializers.IntegerField(read_only=True)
    read_seq = serializers.IntegerField(read_only=True)
    unread = serializers.IntegerField(read_only=True)
    members = serializers.IntegerField(read_only=True, source="member_count")
    created_at = serializers.DateTimeField(read_only=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["with"] = PersonSerializer(
            read_only=True, allow_null=True, source="other", help_text="Direct conversations."
        )
        return fields


class CreateRoomSerializer(serializers.Serializer[Any]):
    """`{"name", "slug"?, "is_private"?}`: the slug is made from the name if not given, and
    gets `-2`, `-3`, … if taken."""

    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=90, required=False, allow_blank=True, default="")
    is_private = serializers.BooleanField(required=False, default=False)


class StartDirectSerializer(serializers.Serializer[Any]):
    """`{"user": <id or username>}`: the other person."""

    user = serializers.CharField(max_length=150, help_text="The other user's id or username.")

    def validate_user(self, value: str) -> Any:
        model = get_user_model()
        people = model._default_manager.all()
        person = people.filter(pk=int(value)).first() if value.isdigit() else None
        if person is None:
            person = people.filter(**{model.USERNAME_FIELD: value}).first()
        if person is None or not getattr(person, "is_active", True):
            raise serializers.ValidationError("No such user.")
        me = getattr(self.context.get("request"), "user", None)
        if me is not None and person.pk == me.pk:
            raise serializers.ValidationError("A direct conversation is with another user.")
        return person


class MemberSerializer(serializers.Serializer[Membership]):
    user = PersonSerializer(read_only=True)
    role = serializers.ChoiceField(choices=Membership.Role.choices, read_only=True)
    joined_at = serializers.DateTimeField(read_only=True)
    read_seq = serializers.IntegerField(read_only=True)


class MessageSerializer(serializers.Serializer[Message]):
    """A message in the shape of its `chat.message` event; `body` is the text as sent, never
    markup."""

    id = serializers.IntegerField(read_only=True)
    seq = serializers.IntegerField(read_only=True, allow_null=True)
    room = serializers.SlugField(read_only=True, source="room.slug")
    author = PersonSerializer(read_only=True, allow_null=True)
    body = serializers.CharField(read_only=True, trim_whitespace=False)
    client_id = serializers.CharField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    edited_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, instance: Message) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["client_id"] = instance.client_id or None
        return data


class MessageBodyField(serializers.CharField):
    """The message text, taken as sent: not trimmed, not coerced; the chat's own rules
    (`api.clean_body`) judge it, so the API refuses what a WebSocket send is refused for, with
    the same code."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "The text, stored and returned verbatim.")
        super().__init__(trim_whitespace=False, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        return None if data is empty else data


class EditMessageSerializer(serializers.Serializer[Any]):
    body = MessageBodyField()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        limit = app_settings.CHAT_MESSAGE_MAX_LENGTH
        body = fields["body"]
        assert isinstance(body, MessageBodyField)
        body.max_length = limit
        body.validators = [MaxLengthValidator(limit)]
        return fields


class PostMessageSerializer(EditMessageSerializer):
    """`{"body", "client_id"?}`: a retried `client_id` stores nothing twice."""

    client_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="Makes retries safe: the same client_id is stored once.",
    )


class MarkReadSerializer(serializers.Serializer[Any]):
    seq = serializers.IntegerField(
        min_value=0, help_text="The seq of the last event of the room's stream I have seen."
    )


class ReadMarkerSerializer(serializers.Serializer[Any]):
    read_seq = serializers.IntegerField(read_only=True)
    unread = serializers.IntegerField(read_only=True)


class ChatErrorSerializer(serializers.Serializer[Any]):
    """A refused chat action, with the code a WebSocket error frame would carry."""

    code = serializers.CharField(read_only=True)
    detail = serializers.CharField(read_only=True)
    retry_after = serializers.FloatField(
        read_only=True, help_text="rate_limited: seconds until a message may be sent."
    )
