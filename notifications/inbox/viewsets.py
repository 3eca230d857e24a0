"""The REST API of the signed-in user's inbox."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import filters, pagination, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.schemas.openapi import AutoSchema
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from notifications.inbox.helpers import inbox_of, listed
from notifications.inbox.serializers import NotificationSerializer, UnreadCountSerializer


class UnreadFilter(filters.BaseFilterBackend):
    """`?unread=true` (or `false`): only unread (or read) notifications."""

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: APIView
    ) -> QuerySet[Any]:
        value = request.query_params.get("unread", "").lower()
        if value in ("true", "1"):
            return queryset.unread()  # type: ignore[attr-defined, no-any-return]
        if value in ("false", "0"):
            return queryset.read()  # type: ignore[attr-defined, no-any-return]
        return queryset

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            {
                "name": "unread",
                "in": "query",
                "required": False,
                "description": "true: only unread ones; false: only read ones.",
                "schema": {"type": "boolean"},
            }
        ]


class InboxPagination(pagination.CursorPagination):
    ordering = ("-timestamp", "-id")
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100


class InboxSchema(AutoSchema):
    def allows_filters(self, path: str, method: str) -> bool:
        return getattr(self.view, "action", None) == "list"

    def get_request_serializer(self, path: str, method: str) -> BaseSerializer[Any] | None:
        return None

    def get_request_body(self, path: str, method: str) -> dict[str, Any]:
        return {}

    def get_response_serializer(self, path: str, method: str) -> BaseSerializer[Any]:
        if getattr(self.view, "action", None) in ("unread_count", "read_all"):
            return UnreadCountSerializer()
        return NotificationSerializer()


class NotificationViewSet(viewsets.GenericViewSet[Any]):
    """My notifications. Other users' are 404, anonymous requests 401. Every change is pushed
    to my tabs with my new unread count."""

    serializer_class = NotificationSerializer
    permission_classes = [permissions.IsAuthenticated]
    filter_backends = [UnreadFilter]
    pagination_class = InboxPagination
    schema = InboxSchema(tags=["notifications"], operation_id_base="Notification")

    def get_queryset(self) -> QuerySet[Any]:
        return listed(inbox_of(self.request))  # type: ignore[no-any-return]

    def get_authenticate_header(self, request: Request) -> str:
        return super().get_authenticate_header(request) or 'Session realm="api"'

    def list(self, request: Request) -> Response:
        """Newest first, a page at a time (`?limit=`, at most 100); `?unread=true` for the
        unread ones only."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request: Request) -> Response:
        """How many of my notifications are unread."""
        count = inbox_of(request).unread().count()
        return Response({"unread_count": count})

    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str) -> Response:
        """Mark one read."""
        notification = self.get_object()
        notification.mark_as_read()
        return Response(self.get_serializer(notification).data)

    @action(detail=True, methods=["post"])
    def unread(self, request: Request, pk: str) -> Response:
        """Mark one unread."""
        notification = self.get_object()
        notification.mark_as_unread()
        return Response(self.get_serializer(notification).data)

    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        """Mark all of mine read; answers with the new unread count (0)."""
        inbox_of(request).mark_all_as_read()
        count = inbox_of(request).unread().count()
        return Response({"unread_count": count})

    def destroy(self, request: Request, pk: str) -> Response:
        """Delete one (with SOFT_DELETE: mark it deleted)."""
        self.get_object().remove()
        return Response(status=status.HTTP_204_NO_CONTENT)
