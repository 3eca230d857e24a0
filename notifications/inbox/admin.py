from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.inbox.api import notify
from notifications.inbox.base import Level
from notifications.inbox.models import Notification

SEND_NOW_UP_TO = 1000
"""Audiences up to this size are notified while the page waits; larger ones by a task."""


class AbstractNotificationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The admin of any notification model (a swapped one too)."""

    raw_id_fields = ["recipient"]
    list_display = [
        "recipient",
        "actor",
        "verb",
        "level",
        "target",
        "unread",
        "public",
        "timestamp",
    ]
    list_filter = ["level", "unread", "public", "emailed", "timestamp"]
    search_fields = ["verb", "description", "recipient__username", "recipient__email"]
    list_select_related = ["recipient"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("actor", "target", "action_object")


@admin.action(description=_("Mark selected notifications as read"))
def mark_read(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    count = queryset.mark_all_as_read()
    modeladmin.message_user(request, _("%d marked as read.") % count, messages.SUCCESS)


@admin.action(description=_("Mark selected notifications as unread"))
def mark_unread(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    count = queryset.mark_all_as_unread()
    modeladmin.message_user(request, _("%d marked as unread.") % count, messages.SUCCESS)


class NotificationAdmin(AbstractNotificationAdmin):
    readonly_fields = ["action_object_url", "actor_object_url", "target_object_url", "read_at"]
    actions = [mark_read, mark_unread]


if not Notification._meta.swapped:
    admin.site.register(Notification, NotificationAdmin)


class SendNotificationForm(forms.Form):
    verb = forms.CharField(label=_("Message"), max_length=255, help_text=_("What happened."))
    level = forms.ChoiceField(label=_("Level"), choices=Level.choices, initial=Level.INFO)
    description = forms.CharField(label=_("Details"), widget=forms.Textarea, required=False)
    url = forms.CharField(
        label=_("Link"), max_length=500, required=False, help_text=_("A page it points to.")
    )


def send_to(modeladmin: Any, request: HttpRequest, selected: QuerySet[Any], kind: str) -> Any:
    """The intermediate page of the "Send notification…" actions, and the send itself."""
    if not request.user.has_perm(f"{Notification._meta.app_label}.add_notification"):
        modeladmin.message_user(request, _("You may not send notifications."), messages.ERROR)
        return None
    from notifications.inbox.tasks import audience

    ids = list(selected.values_list("pk", flat=True))
    recipients = audience(**{kind: ids})
    count = recipients.count()
    form = SendNotificationForm(request.POST if "send" in request.POST else None)
    if form.is_valid():
        return _send(modeladmin, request, recipients, count, kind, ids, form.cleaned_data)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Send notification"),
        "opts": modeladmin.model._meta,
        "form": form,
        "recipients": count,
        "in_background": count > SEND_NOW_UP_TO,
        "selected": ids,
        "action": request.POST.get("action"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/notifications/send_notification.html", context)


def _send(
    modeladmin: Any,
    request: HttpRequest,
    recipients: QuerySet[Any],
    count: int,
    kind: str,
    ids: list[Any],
    fields: dict[str, Any],
) -> HttpResponse | None:
    if count <= SEND_NOW_UP_TO:
        sent = notify(
            recipients,
            fields["verb"],
            actor=request.user,  # type: ignore[arg-type]
            level=fields["level"],
            description=fields["description"] or None,
            url=fields["url"] or None,
        )
        modeladmin.message_user(
            request,
            ngettext("Notified %d user.", "Notified %d users.", sent) % sent,
            messages.SUCCESS,
        )
        return None
    from notifications import tasks
    from notifications.inbox.tasks import send_notification

    arguments: dict[str, Any] = {
        kind: [str(pk) for pk in ids],
        "level": fields["level"],
        "description": fields["description"],
        "url": fields["url"],
        "actor": request.user.pk,
    }
    run = tasks.start(send_notification, fields["verb"], owner=request.user, **arguments)
    modeladmin.message_user(
        request, _("Sending to %d users; this page shows how far it got.") % count
    )
    return HttpResponseRedirect(reverse("admin:notifications_taskrun_change", args=[run.pk]))


@admin.action(description=_("Send notification…"))
def notify_users(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
    return send_to(modeladmin, request, queryset, "users")


@admin.action(description=_("Send notification to their members…"))
def notify_groups(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
    return send_to(modeladmin, request, queryset, "groups")


def offer_send_actions(site: admin.AdminSite = admin.site) -> None:
    """Add the send actions to the admin of users and of groups, where registered."""
    import django.contrib.auth.admin  # noqa: F401 (registers them first)

    for model, action in ((get_user_model(), notify_users), (Group, notify_groups)):
        model_admin = site._registry.get(model)
        if model_admin is not None and action not in (model_admin.actions or []):
            model_admin.actions = [*(model_admin.actions or []), action]


offer_send_actions()
