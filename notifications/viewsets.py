"""The REST API of a stream's history: read it after a cursor; staff publish to it."""

from __future__ import annotations

from typing import Any

from rest_framework import status, viewsets
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.api import publish
from notifications.models import Event, Stream
from notifications.serializers import EventSerializer, HistoryQuerySerializer, PublishSerializer
from notifications.streams import InvalidStream, get_policy, validate_stream


class StreamEventViewSet(viewsets.ViewSet):
    """`GET` the events after `?since=` (at most `?limit=`, 100 by default, 1000 at most)
    with the stream's `head` and `pruned` marks; `POST {"event", "data"}` to publish."""

    def _stream(self, request: Request, stream: str, *, publishing: bool = False) -> str:
        try:
            key = validate_stream(stream)
        except InvalidStream as error:
            raise NotFound(str(error)) from error
        policy = get_policy()
        allowed = (
            policy.can_publish(request.user, key)
            if publishing
            else policy.can_read(request.user, key)
        )
        if not allowed:
            if not request.user.is_authenticated:
                raise NotAuthenticated()
            raise PermissionDenied(
                "You may not " + ("publish to" if publishing else "read") + " this stream."
            )
        return key

    def list(self, request: Request, stream: str) -> Response:
        key = self._stream(request, stream)
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, limit = query.validated_data["since"], query.validated_data["limit"]
        head, pruned = Stream.objects.filter(key=key).values_list(
            "last_seq", "pruned_seq"
        ).first() or (0, 0)
        events = Event.objects.filter(stream=key, seq__gt=since).order_by("seq")[:limit]
        return Response(
            {
                "stream": key,
                "head": head,
                "pruned": pruned,
                "events": EventSerializer(events, many=True).data,  # type: ignore[arg-type]
            }
        )

    def create(self, request: Request, stream: str) -> Response:
        key = self._stream(request, stream, publishing=True)
        body = PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values: dict[str, Any] = body.validated_data
        event = publish(key, values["event"], values["data"], persist=values["persist"])
        return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)
