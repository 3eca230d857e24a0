"""The REST API of task runs: list mine, start one, read one, cancel one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from rest_framework import filters, pagination, permissions, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.schemas.openapi import AutoSchema
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from notifications.tasks import api
from notifications.tasks.models import TaskRun
from notifications.tasks.serializers import StartTaskRunSerializer, TaskRunSerializer

Status = TaskRun.Status


class StatusFilter(filters.BaseFilterBackend):
    """`?status=queued,running`: only runs in one of those states."""

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: APIView
    ) -> QuerySet[Any]:
        value = request.query_params.get("status", "")
        if not value:
            return queryset
        statuses = value.split(",")
        unknown = sorted(set(statuses) - set(Status.values))
        if unknown:
            raise ValidationError({"status": [f"Unknown status: {', '.join(unknown)}."]})
        return queryset.filter(status__in=statuses)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            {
                "name": "status",
                "in": "query",
                "required": False,
                "description": "Only runs in these states, comma-separated.",
                "style": "form",
                "explode": False,
                "schema": {"type": "array", "items": {"type": "string", "enum": Status.values}},
            }
        ]


class RunPagination(pagination.CursorPagination):
    ordering = "-created_at"
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100


class TaskRunSchema(AutoSchema):
    def get_path_parameters(self, path: str, method: str) -> list[dict[str, Any]]:
        parameters = super().get_path_parameters(path, method)
        for parameter in parameters:
            if parameter["name"] == "run_id":
                parameter["description"] = "The run's id."
                parameter["schema"] = {"type": "string", "format": "uuid"}
        return parameters

    def allows_filters(self, path: str, method: str) -> bool:
        return getattr(self.view, "action", None) == "list"

    def get_request_serializer(self, path: str, method: str) -> BaseSerializer[Any] | None:
        action = getattr(self.view, "action", None)
        if action == "create":
            return StartTaskRunSerializer()
        if action == "cancel":
            return None
        return super().get_request_serializer(path, method)

    def get_request_body(self, path: str, method: str) -> dict[str, Any]:
        if getattr(self.view, "action", None) == "cancel":
            return {}
        return super().get_request_body(path, method)

    def get_responses(self, path: str, method: str) -> dict[str, Any]:
        responses = super().get_responses(path, method)
        if getattr(self.view, "action", None) == "cancel":
            return {
                "202": responses["201"] | {"description": "The cancellation stands."},
                "409": {"description": "The run had already succeeded or failed."},
            }
        return responses


class TaskRunViewSet(viewsets.GenericViewSet[TaskRun]):
    """A user's task runs. Other users' runs are 404, anonymous requests 401."""

    serializer_class = TaskRunSerializer
    permission_classes = [permissions.IsAuthenticated]
    filter_backends = [StatusFilter]
    pagination_class = RunPagination
    schema = TaskRunSchema(tags=["tasks"], operation_id_base="TaskRun")

    def get_queryset(self) -> QuerySet[TaskRun]:
        return api.runs_of(self.request.user)

    def get_authenticate_header(self, request: Request) -> str:
        """The `WWW-Authenticate` challenge that makes an anonymous request a 401."""
        return super().get_authenticate_header(request) or 'Session realm="api"'

    def list(self, request: Request) -> Response:
        """My runs, newest first, a page at a time (`?limit=`, at most 100), only those in
        `?status=` states if given."""
        runs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(runs)
        assert page is not None
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        """Start a run of one of `STARTABLE_TASKS` with keyword `arguments`: 201 with the run,
        400 for any other task or arguments its function does not take."""
        body = StartTaskRunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values: dict[str, Any] = body.validated_data
        run = api.start(
            values["task"], owner=request.user, topic=values["topic"], **values["arguments"]
        )
        run.refresh_from_db()
        return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, run_id: UUID) -> Response:
        """The run; staff also see a failure's traceback."""
        return Response(self.get_serializer(self.get_run(run_id)).data)

    def cancel(self, request: Request, run_id: UUID) -> Response:
        """Cancel the run: 202 with it (a queued run is cancelled at once, a running one at its
        next report, a cancelled one stays so); 409 with it if it had succeeded or failed."""
        run = api.cancel(self.get_run(run_id))
        ended_otherwise = run.status in (Status.SUCCEEDED, Status.FAILED)
        return Response(
            self.get_serializer(run).data,
            status=status.HTTP_409_CONFLICT if ended_otherwise else status.HTTP_202_ACCEPTED,
        )

    def get_run(self, run_id: UUID) -> TaskRun:
        """The run, if the user may read it; 404 otherwise."""
        try:
            return api.readable_run(self.request.user, run_id)
        except TaskRun.DoesNotExist as error:
            raise NotFound("No such run.") from error
