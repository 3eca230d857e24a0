"""A run's stream over SSE, and its text output in the AI SDK's UI message stream protocol
(what `useChat` reads)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils import timezone
from django.utils.module_loading import import_string

from notifications.conf import app_settings
from notifications.streams import split_stream
from notifications.subscriptions import Cursor, Item
from notifications.tasks.api import astart
from notifications.tasks.kinds import TERMINAL_EVENTS
from notifications.tasks.models import TaskRun
from notifications.views import StreamView
from notifications.wire import Control, dumps, encode_sse

UI_MESSAGE_STREAM_HEADER = "x-vercel-ai-ui-message-stream"
DONE = b"data: [DONE]\n\n"
REPLAY_WINDOW = timedelta(minutes=1)


class RunEventsView(StreamView):
    """`GET /tasks/<uuid>/events/`: the run's events over SSE, resumable with
    `Last-Event-ID`; ends after the terminal event; 204 once finished and read; 404 for a run
    the user may not read."""

    def get_stream(self, request: HttpRequest, **kwargs: Any) -> str:
        return f"task:{kwargs['run_id']}"


class RunTextStreamView(RunEventsView):
    """`GET /tasks/<uuid>/ui-stream/`: the run's text output as a UI message stream (AI SDK,
    v1): `start`, `text-start`, a `text-delta` per output event, `text-end`, `finish`, then
    `[DONE]`. It replays from the first chunk unless `Last-Event-ID` says otherwise."""

    def get_cursor(self, request: HttpRequest) -> Cursor:
        return super().get_cursor(request) or 0

    def get_response_headers(self) -> dict[str, str]:
        return {UI_MESSAGE_STREAM_HEADER: "v1"}

    def opening(self, stream: str) -> bytes:
        run_id = split_stream(stream)[1]
        return _part({"type": "start", "messageId": run_id}) + _part(
            {"type": "text-start", "id": _text_id(run_id)}
        )

    def encode(self, items: list[Item], named: bool) -> bytes:
        return b"".join(_ui_parts(item) for item in items)

    def closing(self, reason: str | None, named: bool) -> bytes:
        if reason is not None:
            return _part({"type": "error", "errorText": f"The stream ended: {reason}."}) + DONE
        return DONE


class RunChatView(RunTextStreamView):
    """A `useChat` endpoint: `POST` starts a run of `task` with the chat's `messages` (as the
    task's `messages` keyword) and streams its reply; `GET <chat id>/stream` resumes the
    chat's latest run if it is unfinished or finished within REPLAY_WINDOW (204 otherwise),
    which is what `useChat({resume: true})` asks after a reload or a dropped connection; the
    reply is replayed from its first chunk under the same message id, so the client rebuilds
    that message in place. `task` (a dotted path or the task, `as_view(task=...)`) defaults to
    the CHAT_TASK setting; without either the endpoint answers 404."""

    http_method_names = ["get", "post"]
    task: Any = None

    async def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        task = self.get_task()
        if task is None:
            return JsonResponse({"error": "not_found", "message": "No chat task."}, status=404)
        user, _ = await self.authenticate(request)
        if not user.is_authenticated:
            return JsonResponse({"error": "not_authenticated"}, status=401)
        try:
            body = json.loads(request.body)
            chat_id, messages = str(body["id"]), body["messages"]
        except (ValueError, KeyError, TypeError):
            return JsonResponse(
                {"error": "invalid_request", "message": "Send {id, messages} as JSON."},
                status=400,
            )
        if not isinstance(messages, list) or not chat_id or len(chat_id) > 200:
            return JsonResponse(
                {"error": "invalid_request", "message": "`messages` must be a list."}, status=400
            )
        run = await astart(task, messages=messages, owner=user, topic=chat_id)
        return await StreamView.get(self, request, run_id=run.pk)

    async def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        user, _ = await self.authenticate(request)
        run = await sync_to_async(_resumable_run)(user, str(kwargs.get("chat_id", "")))
        if run is None:
            return HttpResponse(status=204)
        return await super().get(request, run_id=run.pk)

    def get_task(self) -> Any:
        """The task a new message starts, or None."""
        task = self.task if self.task is not None else app_settings.CHAT_TASK
        return import_string(task) if isinstance(task, str) else task


def _resumable_run(user: Any, chat_id: str) -> TaskRun | None:
    if not user.is_authenticated or not chat_id:
        return None
    run = TaskRun.objects.filter(owner_id=user.pk, topic=chat_id).first()
    if run is None or (
        run.finished_at is not None and timezone.now() - run.finished_at > REPLAY_WINDOW
    ):
        return None
    return run


def _ui_parts(item: Item) -> bytes:
    if isinstance(item, Control):
        if item.type == "resync":
            return _part({"type": "error", "errorText": "Part of the output is no longer kept."})
        return b""
    run_id = split_stream(item.stream)[1]
    if item.type == "task.output":
        delta = json.loads(item.payload)["data"]["text"]
        return _part({"type": "text-delta", "id": _text_id(run_id), "delta": delta}, item.seq)
    if item.type not in TERMINAL_EVENTS:
        return b""
    parts = _part({"type": "text-end", "id": _text_id(run_id)}, item.seq)
    state = json.loads(item.payload)["data"]
    if item.type == "task.failed":
        error = state.get("error") or {}
        parts += _part({"type": "error", "errorText": error.get("message") or "The task failed."})
    return parts + _part({"type": "finish"})


def _part(part: dict[str, Any], seq: int | None = None) -> bytes:
    return encode_sse(id=seq, data=dumps(part))


def _text_id(run_id: str) -> str:
    return f"text-{run_id}"
