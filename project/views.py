from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.contrib.auth.views import LoginView
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from notifications.chat import api as chat
from notifications.chat.models import Membership, Message, Room
from notifications.conf import app_settings
from notifications.history import recent_or_refused
from notifications.log import read_heads
from notifications.tasks import api, demo
from notifications.tasks.models import TaskRun
from project.demo_account import DEMO_ACCOUNTS

RECENT_RUNS = 20


class SignInView(LoginView):
    """The login page, which lists the demo accounts in DEBUG."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["demo_accounts"] = DEMO_ACCOUNTS if settings.DEBUG else ()
        return context


class ConsoleView(UserPassesTestMixin, TemplateView):
    """The live console, for staff: the connection state and every event of one stream."""

    template_name = "console.html"

    def test_func(self) -> bool:
        return bool(self.request.user.is_staff)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        stream = self.request.GET.get("stream", "broadcast")
        page = recent_or_refused(self.request.user, stream, 20)
        context.update(
            stream=stream,
            error=page.detail or None,
            invalid=page.refused == "invalid_stream",
            refused=page.refused,
            transport="sse" if self.request.GET.get("transport") == "sse" else "websocket",
            history=page.events,
            cursors=page.cursors,
        )
        return context


class CrunchNumbersForm(forms.Form):
    task = demo.crunch_numbers
    steps = forms.IntegerField(label="Steps", min_value=1, max_value=1000, initial=40)


class WriteTextForm(forms.Form):
    task = demo.write_text
    prompt = forms.CharField(
        label="Prompt",
        max_length=200,
        required=False,
        initial="Tell me about live streams",
        widget=forms.TextInput(attrs={"placeholder": "What should it write about?"}),
    )


START_FORMS: dict[str, type[CrunchNumbersForm | WriteTextForm]] = {
    "crunch_numbers": CrunchNumbersForm,
    "write_text": WriteTextForm,
}


class TasksView(LoginRequiredMixin, TemplateView):
    """Start a demo task (POST, then the run's page), and the user's latest runs."""

    template_name = "tasks/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        for name, form_class in START_FORMS.items():
            context.setdefault(f"{name}_form", form_class())
        context["runs"] = list(api.runs_of(self.request.user)[:RECENT_RUNS])
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        name = request.POST.get("task", "")
        form_class = START_FORMS.get(name)
        if form_class is None:
            return HttpResponseBadRequest("Unknown task.")
        form = form_class(request.POST)
        if not form.is_valid():
            return self.render_to_response(
                self.get_context_data(**{f"{name}_form": form}), status=400
            )
        run = api.start(form.task, owner=request.user, **form.cleaned_data)
        return redirect("task-run", run_id=run.pk)


def readable_run_or_404(request: HttpRequest, run_id: object) -> TaskRun:
    try:
        return api.readable_run(request.user, run_id)
    except TaskRun.DoesNotExist as error:
        raise Http404("No such run.") from error


class RunView(LoginRequiredMixin, TemplateView):
    """A run's page: its progress, output and outcome, live; 404 unless the user may read it."""

    template_name = "tasks/run.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["run"] = readable_run_or_404(self.request, kwargs["run_id"])
        context["transport"] = "sse" if self.request.GET.get("transport") == "sse" else "websocket"
        return context


class CancelRunView(LoginRequiredMixin, View):
    """`POST`: ask the run to stop, then back to its page (JSON `{status}` for `fetch`)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, run_id: object) -> HttpResponse:
        run = api.cancel(readable_run_or_404(request, run_id))
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"status": run.status})
        return redirect("task-run", run_id=run.pk)


@dataclass(frozen=True)
class RoomRow:
    room: Room
    unread: int
    read_seq: int
    head: int
    latest: Message | None


class ChatRoomsView(LoginRequiredMixin, TemplateView):
    """The rooms the user may read, each with its unread count and latest message."""

    template_name = "chat/rooms.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        latest = Message.objects.filter(room=OuterRef("pk"), deleted=False, seq__isnull=False)
        marker = Membership.objects.filter(room=OuterRef("pk"), user_id=user.pk)
        rooms = list(
            chat.with_unread(chat.rooms_for(user), user)
            .annotate(
                latest_id=Subquery(latest.order_by("-seq").values("pk")[:1]),
                read_seq=Subquery(marker.values("read_seq")[:1]),
            )
            .order_by("name")
        )
        ids = [room.latest_id for room in rooms if room.latest_id is not None]
        messages = Message.objects.select_related("author").in_bulk(ids)
        heads = read_heads([room.stream for room in rooms])
        context["rooms"] = [
            RoomRow(
                room=room,
                unread=room.unread,
                read_seq=room.read_seq or 0,
                head=heads.get(room.stream, 0),
                latest=messages.get(room.latest_id),
            )
            for room in rooms
        ]
        context["cursors"] = {row.room.stream: row.head for row in context["rooms"]}
        context["user_stream"] = f"user:{user.pk}"
        return context


class ChatRoomView(LoginRequiredMixin, TemplateView):
    """One room: its history, live messages, who is here and who is typing; 404 unless the
    user may read it."""

    template_name = "chat/room.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        room = Room.objects.filter(slug=kwargs["slug"]).first()
        if room is None or not chat.may_read(self.request.user, room):
            raise Http404("No such room.")
        context["room"] = room
        context["typing_interval"] = app_settings.CHAT_TYPING_INTERVAL
        context["max_length"] = app_settings.CHAT_MESSAGE_MAX_LENGTH
        return context
