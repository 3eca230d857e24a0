"""The REST API of a stream's history: read it after a cursor; staff publish to it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework import permissions, status, views, viewsets
from rest_framework.exceptions import (
    NotAuthenticated,
    NotFound,
    ParseError,
    PermissionDenied,
    ValidationError,
)
from rest_framework.request import Request
from rest_framework.response import Response

from notifications import policy
from notifications.api import InvalidEventData, publish
from notifications.auth import token_response
from notifications.conf import app_settings
from notifications.history import history
from notifications.serializers import EventSerializer, HistoryQuerySerializer, PublishSerializer
from notifications.streams import InvalidStream, validate_stream


class PayloadTooLarge(ParseError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class StreamEventViewSet(viewsets.ViewSet):
    """`GET` the events after `?since=` (at most `?limit=`, 100 by default, 1000 at most)
    with the stream's `head` and `pruned` marks; `POST {"event", "data"}` to publish."""

    def list(self, request: Request, stream: str) -> Response:
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, limit = query.validated_data["since"], query.validated_data["limit"]
        try:
            page = history(request.user, stream, since=since, limit=limit)
        except InvalidStream as error:
            raise NotFound(str(error)) from error
        except policy.NotAuthenticated as error:
            raise NotAuthenticated() from error
        except policy.StreamNotFound as error:
            raise NotFound("No such stream.") from error
        except policy.Forbidden as error:
            raise PermissionDenied("You may not read this stream.") from error
        return Response(
            {"stream": page.stream, "head": page.head, "pruned": page.pruned, "events": page.events}
        )

    def create(self, request: Request, stream: str) -> Response:
        key = self._publishable(request, stream)
        self._check_size(request)
        body = PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values: dict[str, Any] = body.validated_data
        try:
            event = publish(key, values["event"], values["data"], persist=values["persist"])
        except InvalidEventData as error:
            raise ValidationError({"data": [str(error)]}) from error
        return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)

    def _publishable(self, request: Request, stream: str) -> str:
        try:
            key = validate_stream(stream)
        except InvalidStream as error:
            raise NotFound(str(error)) from error
        if not policy.get_policy().can_publish(request.user, key):
            if not request.user.is_authenticated:
                raise NotAuthenticated()
            raise PermissionDenied("You may not publish to this stream.")
        return key

    def _check_size(self, request: Request) -> None:
        limit = app_settings.MAX_PUBLISH_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit or len(request.body) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")


class TokenAPIView(views.APIView):
    """`POST` (authenticated with any of the API's authentication classes): a short-lived
    token for the WebSocket and SSE transports, `{"token", "expires_in"}`."""

    permission_classes = [permissions.IsAuthenticated]

    def post(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, AbstractBaseUser)
        return Response(token_response(user))
