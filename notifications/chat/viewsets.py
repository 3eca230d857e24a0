"""The REST API of chat: my rooms with their unread counts, new rooms and direct
conversations, members, history, posting, editing and deleting messages, read markers.

A room the user may not read (by the stream policy's decision for `room:<slug>`) is 404,
like one that does not exist, so the names of private rooms and conversations leak nothing.
A message posted here is stored and delivered live exactly like a WebSocket `chat.send`."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Concat
from rest_framework import pagination, permissions, status, viewsets
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.schemas.openapi import AutoSchema
from rest_framework.serializers import BaseSerializer

from notifications import policy
from notifications.chat import api
from notifications.chat.limits import send_bucket
from notifications.chat.models import Membership, Message, Room
from notifications.chat.serializers import (
    ChatErrorSerializer,
    CreateRoomSerializer,
    EditMessageSerializer,
    MarkReadSerializer,
    MemberSerializer,
    MessageSerializer,
    PostMessageSerializer,
    ReadMarkerSerializer,
    RoomSerializer,
    StartDirectSerializer,
)
from notifications.log import Stream
from notifications.streams import InvalidStream, User

STATUSES = {
    "forbidden": status.HTTP_403_FORBIDDEN,
    "not_found": status.HTTP_404_NOT_FOUND,
    "rate_limited": status.HTTP_429_TOO_MANY_REQUESTS,
}


class ChatRefused(APIException):
    """A refused chat action, answered `{"code", "detail"}` with the codes of the WebSocket
    error frames."""

    def __init__(self, code: str, message: str, **fields: Any) -> None:
        super().__init__(message, code)
        self.status_code = STATUSES.get(code, status.HTTP_400_BAD_REQUEST)
        detail: Any = {"code": code, "detail": message, **fields}
        self.detail = detail


class RateLimited(ChatRefused):
    def __init__(self, retry_after: float) -> None:
        super().__init__(
            "rate_limited",
            "Too many messages; this one was not sent.",
            retry_after=round(retry_after, 3),
        )
        self.wait = max(1, math.ceil(retry_after))


def chat(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except api.ChatError as error:
        raise ChatRefused(error.code, error.message) from error


def readable_room(user: User, slug: str) -> Room:
    """The room, if the stream policy lets `user` read `room:<slug>`; 404 otherwise."""
    try:
        policy.authorize(user, f"room:{slug}")
    except (InvalidStream, policy.NotAuthenticated, policy.Forbidden) as error:
        raise NotFound("No such room.") from error
    room = Room.objects.filter(slug=slug).first()
    if room is None:
        raise NotFound("No such room.")
    return room


def with_counts(rooms: QuerySet[Room], user: Any) -> QuerySet[Room]:
    """`rooms` with what the API shows of each (`unread`, `read_seq`, `head`, the member
    count, the members of direct conversations), in two queries for any number of rooms."""
    marker = Membership.objects.filter(room=OuterRef("pk"), user_id=user.pk).values("read_seq")
    count = (
        Membership.objects.filter(room=OuterRef("pk"))
        .order_by()
        .values("room")
        .annotate(count=Count("pk"))
        .values("count")
    )
    head = Stream.objects.filter(key=Concat(Value("room:"), OuterRef("slug"))).values("last_seq")
    direct = Membership.objects.filter(room__kind=Room.Kind.DIRECT).select_related("user")
    return (
        api.with_unread(rooms, user)
        .annotate(
            read_seq=Coalesce(Subquery(marker[:1]), 0),
            member_count=Coalesce(Subquery(count), 0),
            head=Coalesce(Subquery(head[:1]), 0),
        )
        .prefetch_related(Prefetch("memberships", queryset=direct, to_attr="direct_members"))
    )


def with_other(rooms: list[Room], user: Any) -> list[Room]:
    """Each room with `other`: the other person of a direct conversation (None otherwise)."""
    for room in rooms:
        others = [m.user for m in getattr(room, "direct_members", []) if m.user_id != user.pk]
        room.other = others[0] if others else None  # type: ignore[attr-defined]
    return rooms


class RoomPagination(pagination.CursorPagination):
    ordering = ("slug",)
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 100


class MemberPagination(pagination.CursorPagination):
    ordering = ("joined_at", "id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 100


class MessagePagination(pagination.CursorPagination):
    ordering = ("-seq",)
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


NOT_READABLE = {"description": "No such room, or not one you may read."}


class ChatSchema(AutoSchema):
    """Request and response bodies, operation ids and extra responses per action, from the
    view's `schema_requests`, `schema_responses`, `schema_operation_ids` and
    `schema_other_responses` (with a `ChatError` body for the actions in `schema_refusals`)."""

    def _action(self) -> str:
        return str(getattr(self.view, "action", ""))

    def get_operation_id(self, path: str, method: str) -> str:
        named: dict[str, str] = getattr(self.view, "schema_operation_ids", {})
        return named.get(self._action()) or super().get_operation_id(path, method)

    def get_path_parameters(self, path: str, method: str) -> list[dict[str, Any]]:
        parameters = super().get_path_parameters(path, method)
        for parameter in parameters:
            if parameter["name"] == "slug":
                parameter["description"] = "The room's slug (its stream is `room:<slug>`)."
                parameter["schema"] = {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"}
            elif parameter["name"] == "id":
                parameter["description"] = "The message's id."
                parameter["schema"] = {"type": "integer"}
        return parameters

    def get_request_serializer(self, path: str, method: str) -> BaseSerializer[Any] | None:
        serializer = getattr(self.view, "schema_requests", {}).get(self._action())
        return None if serializer is None else serializer()

    def get_request_body(self, path: str, method: str) -> dict[str, Any]:
        if self.get_request_serializer(path, method) is None:
            return {}
        return super().get_request_body(path, method)

    def get_response_serializer(self, path: str, method: str) -> BaseSerializer[Any] | None:
        serializer = getattr(self.view, "schema_responses", {}).get(self._action())
        return None if serializer is None else serializer()

    def get_components(self, path: str, method: str) -> dict[str, Any]:
        components = super().get_components(path, method)
        if self._action() in getattr(self.view, "schema_refusals", ()):
            components["ChatError"] = self.map_serializer(ChatErrorSerializer())
        return components

    def get_responses(self, path: str, method: str) -> dict[str, Any]:
        responses = super().get_responses(path, method)
        action = self._action()
        if action in getattr(self.view, "schema_ok", ()):
            responses = {"200": responses.pop("201", None) or responses["200"]}
        success = next(iter(responses.values()))
        refusal = {"application/json": {"schema": self.get_reference(ChatErrorSerializer())}}
        extra: dict[str, str] = getattr(self.view, "schema_other_responses", {}).get(action, {})
        for code, description in extra.items():
            if code.startswith("2"):
                responses[code] = {**responses.get(code, success), "description": description}
            elif code == "404" or action not in getattr(self.view, "schema_refusals", ()):
                responses[code] = {"description": description}
            else:
                responses[code] = {"description": description, "content": refusal}
        return responses


class ChatViewSet(viewsets.GenericViewSet[Any]):
    permission_classes = [permissions.IsAuthenticated]
    schema_requests: ClassVar[dict[str, type[BaseSerializer[Any]]]] = {}
    schema_responses: ClassVar[dict[str, type[BaseSerializer[Any]]]] = {}
    schema_operation_ids: ClassVar[dict[str, str]] = {}
    schema_other_responses: ClassVar[dict[str, dict[str, str]]] = {}
    schema_ok: ClassVar[tuple[str, ...]] = ()
    schema_refusals: ClassVar[tuple[str, ...]] = ()

    def get_authenticate_header(self, request: Request) -> str:
        """The `WWW-Authenticate` challenge that makes an anonymous request a 401."""
        return super().get_authenticate_header(request) or 'Session realm="api"'

    def get_room(self) -> Room:
        return readable_room(self.request.user, self.kwargs["slug"])

    def valid(self, serializer_class: type[BaseSerializer[Any]]) -> dict[str, Any]:
        body = serializer_class(data=self.request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        values: dict[str, Any] = body.validated_data
        return values


class RoomViewSet(ChatViewSet):
    """The rooms I may read: public rooms, and the private rooms and direct conversations I am
    a member of. Any logged-in user may create a room (public or private) and becomes its
    owner."""

    serializer_class = RoomSerializer
    pagination_class = RoomPagination
    schema = ChatSchema(tags=["chat"], operation_id_base="Room")
    schema_requests = {
        "create": CreateRoomSerializer,
        "direct": StartDirectSerializer,
        "read": MarkReadSerializer,
    }
    schema_responses = {
        "list": RoomSerializer,
        "create": RoomSerializer,
        "retrieve": RoomSerializer,
        "direct": RoomSerializer,
        "read": ReadMarkerSerializer,
    }
    schema_operation_ids = {"direct": "startDirectConversation", "read": "markRoomRead"}
    schema_other_responses = {
        "create": {"400": "A field is missing or invalid, or no slug is free for the name."},
        "retrieve": {"404": NOT_READABLE["description"]},
        "direct": {
            "201": "The conversation, started now.",
            "200": "The conversation, which existed.",
            "400": "No such user (by id or username), or yourself.",
        },
        "read": {
            "200": "My read marker (never moved back, never past the room's last event) and "
            "the unread messages after it.",
            "404": NOT_READABLE["description"],
        },
    }
    schema_ok = ("read",)

    def get_queryset(self) -> QuerySet[Room]:
        return with_counts(api.rooms_for(self.request.user), self.request.user)

    def list(self, request: Request) -> Response:
        """My rooms by slug, a page at a time (`?limit=`, at most 100), each with my unread
        count and read marker and the seq of its stream's last event."""
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None
        rooms = with_other(page, request.user)
        return self.get_paginated_response(self.get_serializer(rooms, many=True).data)

    def create(self, request: Request) -> Response:
        """Create a room; I am its owner. 201 with the room (its slug may have a suffix)."""
        values = self.valid(CreateRoomSerializer)
        room = chat(
            api.create_room,
            request.user,
            values["name"],
            slug=values["slug"],
            is_private=values["is_private"],
        )
        return Response(self.shown(room), status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, slug: str) -> Response:
        """The room, with my unread count and read marker."""
        return Response(self.shown(self.get_room()))

    def direct(self, request: Request) -> Response:
        """Start the direct conversation with another user: 201 if it is new, 200 with the one
        we already have (there is one per pair of users)."""
        other = self.valid(StartDirectSerializer)["user"]
        room, created = chat(api.start_direct, request.user, other)
        return Response(
            self.shown(room), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def read(self, request: Request, slug: str) -> Response:
        """Move my read marker forward to `seq`; my other tabs and the room's readers are told."""
        room = self.get_room()
        seq = self.valid(MarkReadSerializer)["seq"]
        marker = chat(api.mark_read, room, request.user, seq)
        return Response({"read_seq": marker, "unread": api.unread_in(room, request.user, marker)})

    def shown(self, room: Room) -> Any:
        annotated = with_counts(Room.objects.filter(pk=room.pk), self.request.user)
        return self.get_serializer(with_other(list(annotated), self.request.user)[0]).data


class MemberViewSet(ChatViewSet):
    """The members of a room I may read, with their roles and read markers."""

    serializer_class = MemberSerializer
    pagination_class = MemberPagination
    schema = ChatSchema(tags=["chat"], operation_id_base="RoomMember")
    schema_responses = {"list": MemberSerializer}
    schema_other_responses = {"list": {"404": NOT_READABLE["description"]}}

    def get_queryset(self) -> QuerySet[Membership]:
        return api.members(self.get_room())

    def list(self, request: Request, slug: str) -> Response:
        """In the order they joined, a page at a time (`?limit=`, at most 100)."""
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class MessageViewSet(ChatViewSet):
    """A room's messages. Posting, editing and deleting here are the same as the WebSocket
    frames `chat.send`, `chat.edit` and `chat.delete`: stored with their event in one
    transaction and delivered live to the room's readers, with the same limits and codes."""

    serializer_class = MessageSerializer
    pagination_class = MessagePagination
    schema = ChatSchema(tags=["chat"], operation_id_base="Message")
    schema_requests = {"create": PostMessageSerializer, "partial_update": EditMessageSerializer}
    schema_responses = {
        "list": MessageSerializer,
        "create": MessageSerializer,
        "partial_update": MessageSerializer,
    }
    schema_refusals = ("create", "partial_update", "destroy")
    schema_other_responses = {
        "list": {"404": NOT_READABLE["description"]},
        "create": {
            "201": "The message, stored and sent to the room.",
            "200": "The message stored earlier with this client_id (a retry): nothing new.",
            "400": "invalid_message, message_too_long, or a client_id used in another room.",
            "404": NOT_READABLE["description"],
            "429": "rate_limited: more than CHAT_SEND_RATE messages a second; the Retry-After "
            "header and retry_after say when to send again.",
        },
        "partial_update": {
            "400": "invalid_message or message_too_long.",
            "403": "forbidden: only its author edits a message.",
            "404": "No such room or message, or the message was deleted.",
        },
        "destroy": {
            "403": "forbidden: its author, the room's moderators and owners, and staff delete "
            "a message.",
            "404": "No such room or message.",
        },
    }

    def get_queryset(self) -> QuerySet[Message]:
        room = self.get_room()
        return Message.objects.filter(room=room, deleted=False, seq__isnull=False).select_related(
            "room", "author"
        )

    def get_message(self) -> Message:
        room = self.get_room()
        message = Message.objects.select_related("room", "author").filter(
            room=room, pk=self.kwargs["pk"]
        )
        found = message.first()
        if found is None:
            raise NotFound("No such message.")
        return found

    def list(self, request: Request, slug: str) -> Response:
        """Newest first, deleted ones left out, a page at a time (`?limit=`, at most 200;
        `next` goes further back)."""
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request, slug: str) -> Response:
        """Post `body`: 201 with the message; 200 with the same message for a retried
        `client_id`. Delivered live like a WebSocket `chat.send`."""
        room = self.get_room()
        values = self.valid(PostMessageSerializer)
        bucket = send_bucket(request.user.pk)
        if not bucket.take():
            raise RateLimited(bucket.retry_after())
        posted = chat(
            api.post_message,
            room,
            request.user,
            values["body"],
            client_id=values["client_id"] or None,
        )
        return Response(
            self.get_serializer(posted.message).data,
            status=status.HTTP_201_CREATED if posted.created else status.HTTP_200_OK,
        )

    def partial_update(self, request: Request, slug: str, pk: int) -> Response:
        """Change the text of my message; readers get `chat.edited`."""
        message = self.get_message()
        values = self.valid(EditMessageSerializer)
        edited = chat(api.edit_message, message, request.user, values["body"])
        return Response(self.get_serializer(edited).data)

    def destroy(self, request: Request, slug: str, pk: int) -> Response:
        """Delete the message for everyone; readers get `chat.deleted`."""
        chat(api.delete_message, self.get_message(), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
