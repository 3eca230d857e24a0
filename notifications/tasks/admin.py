from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.module_loading import import_string
from django.views.decorators.http import require_POST

from notifications import tasks
from notifications.tasks.models import TaskRun

DEMO_TASK = "notifications.tasks.demo.crunch_numbers"


@admin.register(TaskRun)
class TaskRunAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Runs are read, cancelled and deleted here, never edited; staff who may change runs can
    start the demo task from the list."""

    list_display = [
        "short_id",
        "task_name",
        "owner",
        "status",
        "percent",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "task_name", "failure_reason", "created_at"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    actions = ["cancel_runs"]
    fieldsets = [
        (None, {"fields": ["id", "task_name", "arguments", "owner", "topic", "status", "events"]}),
        ("Progress", {"fields": ["progress_current", "progress_total", "message", "result"]}),
        ("Failure", {"fields": ["failure_reason", "error_type", "error_message", "traceback"]}),
        ("Backend", {"fields": ["backend", "backend_result_id"]}),
        (
            "Times",
            {
                "fields": [
                    "created_at",
                    "started_at",
                    "heartbeat_at",
                    "cancel_requested_at",
                    "finished_at",
                ]
            },
        ),
    ]
    readonly_fields = ["events", "traceback"]

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return ["id", "task_name", f"owner__{get_user_model().USERNAME_FIELD}", "topic"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: TaskRun | None = None) -> bool:
        return False

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        """Who may cancel runs and start the demo task: users with the change permission."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.display(description="run", ordering="id")
    def short_id(self, run: TaskRun) -> str:
        return str(run.pk)[:8]

    @admin.display(description="progress")
    def percent(self, run: TaskRun) -> str | None:
        fraction = run.fraction
        return None if fraction is None else f"{fraction:.0%}"

    @admin.display(description="traceback")
    def traceback(self, run: TaskRun) -> str | None:
        return format_html("<pre>{}</pre>", run.error_traceback) if run.error_traceback else None

    @admin.display(description="events")
    def events(self, run: TaskRun) -> str | None:
        return format_html_join(" · ", '<a href="{}">{}</a>', self.event_links(run)) or None

    def event_links(self, run: TaskRun) -> list[tuple[str, str]]:
        """Where to read the run's events: the log (in this admin) and the live stream."""
        links = []
        log = self._reverse(f"{self.admin_site.name}:notifications_event_changelist")
        if log is not None:
            links.append((f"{log}?{urlencode({'stream': run.stream})}", "log"))
        live = self._reverse("notifications:task-events", run_id=run.pk)
        if live is not None:
            links.append((live, "live (SSE)"))
        return links

    @admin.action(description="Cancel selected runs", permissions=["cancel"])
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[TaskRun]) -> None:
        counts = {"cancelled": 0, "asked to stop": 0, "already finished": 0}
        for run in queryset:
            if run.is_finished:
                counts["already finished"] += 1
                continue
            cancelled = tasks.cancel(run).status == TaskRun.Status.CANCELLED
            counts["cancelled" if cancelled else "asked to stop"] += 1
        summary = ", ".join(f"{count} {what}" for what, count in counts.items() if count)
        self.message_user(request, f"Runs: {summary}.", messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        start_demo = self.admin_site.admin_view(require_POST(self.start_demo_view))
        name = f"{self.opts.app_label}_{self.opts.model_name}_start_demo"
        return [path("start-demo/", start_demo, name=name), *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse | HttpResponse:
        context = dict(extra_context or {})
        if self.has_cancel_permission(request):
            context["start_demo_url"] = reverse(
                f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_start_demo"
            )
        return super().changelist_view(request, context)

    def start_demo_view(self, request: HttpRequest) -> HttpResponse:
        """Start the demo task for the clicking user and show its run."""
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        run = tasks.start(import_string(DEMO_TASK), owner=request.user)
        self.message_user(request, f"Started {run.task_label}; this page shows where it is.")
        return HttpResponseRedirect(
            reverse(
                f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change",
                args=[run.pk],
            )
        )

    @staticmethod
    def _reverse(name: str, **kwargs: Any) -> str | None:
        try:
            return reverse(name, kwargs=kwargs or None)
        except NoReverseMatch:
            return None
