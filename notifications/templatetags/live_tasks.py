"""`{% load live_tasks %}`: a run's progress bar (`{% task_progress run %}`) and output so far
(`{% task_output run %}`), for the page's user only and read through the stream policy, each
marked with the seq of `task:<id>` it was rendered at; `{% task_script %}` keeps them live."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django import template
from django.contrib.auth.models import AnonymousUser
from django.forms.utils import flatatt
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString

from notifications.conf import app_settings
from notifications.history import history, recent_or_refused
from notifications.policy import Forbidden, NotAuthenticated
from notifications.streams import InvalidStream, User
from notifications.tasks.api import readable_run
from notifications.tasks.kinds import TERMINAL_EVENTS
from notifications.tasks.models import TaskRun

register = template.Library()

CANCELLING = "cancelling"
STATUS_LABELS = {**dict(TaskRun.Status.choices), CANCELLING: "Cancelling"}


@dataclass(frozen=True, slots=True)
class RunState:
    """A run as the page's user may see it, read after seq `seq` of its stream: live updates
    resume after `seq`, and none is missed."""

    run: TaskRun
    seq: int

    @property
    def status(self) -> str:
        """The run's status, or "cancelling" while a running run was asked to stop."""
        run = self.run
        if run.status == TaskRun.Status.RUNNING and run.cancel_requested_at is not None:
            return CANCELLING
        return str(run.status)

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def is_finished(self) -> bool:
        return self.run.is_finished

    @property
    def percent(self) -> int | None:
        """Whole percent done (never 100 before the end), None when unknown."""
        fraction = self.run.fraction
        if fraction is None:
            return 100 if self.run.status == TaskRun.Status.SUCCEEDED else None
        return math.floor(fraction * 100)


@dataclass(frozen=True, slots=True)
class Output:
    """A run's output up to seq `seq`; `incomplete` when older events are no longer kept."""

    text: str
    seq: int
    finished: bool
    incomplete: bool


def read_state(user: User, run: object) -> RunState | None:
    """The run's state for `user` and the seq it is current at; None if `user` may not read
    it. The stream's head is read before the row, so the row is at least that recent."""
    run_id = _run_id(run)
    head = recent_or_refused(user, f"task:{run_id}", 0)
    if head.refused:
        return None
    try:
        current = readable_run(user, run_id)
    except TaskRun.DoesNotExist:
        return None
    return RunState(current, head.head)


def read_output(user: User, run: object) -> Output | None:
    """Every output chunk of the run up to its stream's head, through the stream policy."""
    stream = f"task:{_run_id(run)}"
    try:
        page = history(user, stream, limit=app_settings.REPLAY_PAGE_SIZE)
    except (InvalidStream, NotAuthenticated, Forbidden):
        return None
    head, incomplete = page.head, page.pruned > 0
    texts: list[str] = []
    finished = False
    while page.events:
        for event in page.events:
            if event["seq"] > head:
                break
            if event["event"] == "task.output":
                texts.append(event["data"]["text"])
            finished = finished or event["event"] in TERMINAL_EVENTS
        last = page.events[-1]["seq"]
        if last >= head:
            break
        page = history(user, stream, since=last, limit=app_settings.REPLAY_PAGE_SIZE)
    return Output("".join(texts), head, finished, incomplete)


@register.simple_tag(takes_context=True)
def task_state(context: template.Context, run: object) -> RunState | None:
    """`{% task_state run as state %}`: the run's `RunState` for the request's user (status,
    label, percent, `run`, `seq`), or None if the user may not read it. Pass it to
    `{% task_progress state %}` to draw the bar from the same reading."""
    return read_state(_user(context), run)


@register.simple_tag(takes_context=True)
def task_progress(context: template.Context, run: object, label: str = "") -> SafeString:
    """`{% task_progress run %}`: an accessible progress bar of the run (a `TaskRun`, its id,
    or a `RunState`) with its status, percentage and message; nothing if the request's user
    may not read it. `label` names the bar (default: the task's name)."""
    state = run if isinstance(run, RunState) else read_state(_user(context), run)
    if state is None:
        return SafeString("")
    percent = state.percent
    message = state.run.message
    percent_text = "" if percent is None else f"{percent}%"
    bar = {
        "class": "live-task-bar",
        "role": "progressbar",
        "aria-label": label or state.run.task_label.capitalize(),
        "aria-valuemin": "0",
        "aria-valuemax": "100",
        "aria-valuenow": percent,
        "aria-valuetext": ", ".join(filter(None, [percent_text, message])) or state.label,
    }
    meter = {"max": "100", "value": 0 if percent is None and state.is_finished else percent}
    return format_html(
        '<div class="live-task" data-live-task="{}" data-since="{}" data-status="{}">'
        '<div class="live-task-head"><span class="live-task-status" role="status">{}</span>'
        '<span class="live-task-percent">{}</span></div>'
        '<div{}><progress class="live-task-meter"{} aria-hidden="true"></progress></div>'
        '<p class="live-task-message">{}</p></div>',
        state.run.pk,
        state.seq,
        state.status,
        state.label,
        percent_text,
        flatatt(bar),
        flatatt(meter),
        message,
    )


@register.simple_tag(takes_context=True)
def task_output(context: template.Context, run: object, label: str = "Output") -> SafeString:
    """`{% task_output run %}`: a `<pre>` of the run's output so far, which `{% task_script %}`
    appends to; nothing if the request's user may not read the run."""
    output = read_output(_user(context), run)
    if output is None:
        return SafeString("")
    attributes: dict[str, Any] = {
        "class": "live-task-output",
        "data-live-task-output": _run_id(run),
        "data-since": output.seq,
        "tabindex": "0",
        "aria-label": label,
        "data-finished": output.finished,
        "data-incomplete": output.incomplete,
    }
    return format_html("<pre{}>{}</pre>", flatatt(attributes), output.text)


@register.simple_tag(takes_context=True)
def task_script(context: template.Context, nonce: str | None = None) -> SafeString:
    """The `<script>` of `notifications/tasks.js`, which keeps every rendered bar and output
    live (put it after `{% live_client %}`); the CSP nonce as `{% live_client %}` finds it."""
    request = context.get("request")
    nonce = nonce or context.get("csp_nonce") or getattr(request, "csp_nonce", None)
    attributes = {"src": static("notifications/tasks.js"), "nonce": str(nonce) if nonce else None}
    return format_html("<script{}></script>", flatatt(attributes))


def _user(context: template.Context) -> User:
    user = getattr(context.get("request"), "user", None)
    return user if user is not None else AnonymousUser()


def _run_id(run: object) -> str:
    if isinstance(run, RunState):
        return str(run.run.pk)
    if isinstance(run, TaskRun):
        return str(run.pk)
    return "" if run is None else str(run)
