from __future__ import annotations

from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AutocompleteSelectMultiple, FilteredSelectMultiple
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.inbox.api import notify
from notifications.inbox.base import Level
from notifications.inbox.broadcasts import active_users, new_broadcast, send_to_everyone
from notifications.inbox.models import Broadcast, Notification

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
    count = audience(**{kind: ids}).count()
    form = SendNotificationForm(request.POST if "send" in request.POST else None)
    if form.is_valid():
        broadcast, message = send(request, kind, form.cleaned_data, ids)
        modeladmin.message_user(request, message, messages.SUCCESS)
        return _run_page(broadcast)
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


def send(
    request: HttpRequest, audience: str, fields: dict[str, Any], ids: list[Any] | None = None
) -> tuple[Broadcast, str]:
    """Send what a staff member wrote (a `SendNotificationForm`'s fields) to everyone, or to
    the users or the groups' members with `ids`, and record it as a Broadcast; answers it and
    what to tell the sender. Up to SEND_NOW_UP_TO users are notified at once, more by a task
    (the Broadcast's `task_run`). Without this app installed (a swapped model's site that
    borrows only its base class) nothing is recorded."""
    content: dict[str, Any] = {
        "actor": request.user,
        "level": fields["level"],
        "description": fields["description"] or None,
        "url": fields["url"] or None,
    }
    if audience == Broadcast.Audience.EVERYONE:
        broadcast = send_to_everyone(fields["verb"], sent_by=request.user, **content)
        reached = broadcast.reached or 0
        return broadcast, _("Sent to everyone (%d active users).") % reached
    from notifications.inbox.tasks import audience as audience_of

    recipients = audience_of(**{audience: ids or []})
    count = recipients.count()
    broadcast = new_broadcast(audience, fields["verb"], sent_by=request.user, **content)
    with transaction.atomic(using=router.db_for_write(Broadcast)):
        if count <= SEND_NOW_UP_TO:
            broadcast.reached = notify(
                recipients, fields["verb"], timestamp=broadcast.timestamp, **content
            )
            if apps.is_installed("notifications"):
                broadcast.save()
            sent = broadcast.reached
            return broadcast, ngettext("Notified %d user.", "Notified %d users.", sent) % sent
        from notifications import tasks
        from notifications.inbox.tasks import send_notification

        broadcast.save()
        arguments: dict[str, Any] = {
            audience: [str(pk) for pk in ids or []],
            "level": fields["level"],
            "description": fields["description"],
            "url": fields["url"],
            "actor": request.user.pk,
            "broadcast": broadcast.pk,
        }
        broadcast.task_run = tasks.start(
            send_notification, fields["verb"], owner=request.user, **arguments
        )
        broadcast.save(update_fields=["task_run"])
    return broadcast, _("Sending to %d users; this page shows how far it got.") % count


def _run_page(broadcast: Broadcast) -> HttpResponse | None:
    """The page of the task that sends it, if a task does."""
    if broadcast.task_run_id is None:
        return None
    return HttpResponseRedirect(
        reverse("admin:notifications_taskrun_change", args=[broadcast.task_run_id])
    )


@admin.action(description=_("Send notification…"))
def notify_users(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
    return send_to(modeladmin, request, queryset, "users")


@admin.action(description=_("Send notification to their members…"))
def notify_groups(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
    return send_to(modeladmin, request, queryset, "groups")


class SelectFilter(FilteredSelectMultiple):
    """Django's two-box selector in a wrapper, as the admin shows relations (its script puts
    the boxes first in their parent element, which would otherwise be the label's row)."""

    template_name = "admin/notifications/broadcast/select_filter.html"


class BroadcastForm(SendNotificationForm):
    audience = forms.ChoiceField(
        label=_("Audience"),
        choices=Broadcast.Audience.choices,
        initial=Broadcast.Audience.EVERYONE,
        widget=forms.RadioSelect,
        help_text=_(
            "Everyone: stored once, and in each user's inbox from their next visit. "
            "Groups and selected users: each recipient's notification is made now."
        ),
    )
    groups = forms.ModelMultipleChoiceField(
        label=_("Groups"),
        queryset=Group.objects.all(),
        required=False,
        widget=SelectFilter(_("groups"), is_stacked=False),
        help_text=_("Their members, for the audience “groups”."),
    )
    users = forms.ModelMultipleChoiceField(
        label=_("Users"),
        queryset=get_user_model()._default_manager.all(),
        required=False,
        help_text=_("For the audience “selected users”."),
    )
    field_order = ["audience", "groups", "users", "verb", "level", "description", "url"]

    def __init__(self, *args: Any, users_widget: forms.Widget | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if users_widget is not None:
            users = self.fields["users"]
            users.widget = users_widget
            users.widget.choices = users.choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        audience = cleaned.get("audience")
        for kind, what in (("groups", _("group")), ("users", _("user"))):
            if audience == kind and not cleaned.get(kind):
                self.add_error(kind, _("Choose at least one %s.") % what)
        return cleaned


class BroadcastAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The record of sends by staff and to everyone. "Add" is the page that sends one (for
    users with `add_broadcast`); a send is never edited afterwards."""

    list_display = ["timestamp", "verb", "level", "audience", "reached", "sent_by"]
    list_filter = ["audience", "level"]
    search_fields = ["verb", "description"]
    list_select_related = ["sent_by"]
    date_hierarchy = "timestamp"
    add_form_template = "admin/notifications/broadcast/add_form.html"
    fieldsets = [
        (None, {"fields": ["verb", "level", "description", "data", "actor_text", "public"]}),
        (_("Sent"), {"fields": ["audience", "reached", "sent_by", "timestamp", "task_run_link"]}),
    ]
    readonly_fields = ["actor_text", "task_run_link"]
    send_fieldsets = [
        (_("Audience"), {"fields": ["audience", "groups", "users"]}),
        (_("Notification"), {"fields": ["verb", "level", "description", "url"]}),
    ]

    def has_change_permission(self, request: HttpRequest, obj: Broadcast | None = None) -> bool:
        return False

    @admin.display(description=_("actor"))
    def actor_text(self, broadcast: Broadcast) -> str:
        return str(broadcast.actor) if broadcast.actor_content_type_id else "-"

    @admin.display(description=_("task run"))
    def task_run_link(self, broadcast: Broadcast) -> str:
        if broadcast.task_run_id is None:
            return "-"
        url = reverse(
            f"{self.admin_site.name}:notifications_taskrun_change", args=[broadcast.task_run_id]
        )
        return format_html('<a href="{}">{}</a>', url, str(broadcast.task_run_id)[:8])

    def users_widget(self) -> forms.Widget:
        """An autocomplete of the users (their admin's search), when their admin has one."""
        users = get_user_model()
        site = self.admin_site
        if not site.is_registered(users) or not site.get_model_admin(users).search_fields:
            return SelectFilter(_("users"), is_stacked=False)
        return AutocompleteSelectMultiple(
            Broadcast._meta.get_field("sent_by"), self.admin_site, attrs={"style": "width: 32em"}
        )

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The Broadcast page: whom to send to and what; sends on submit."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        form = BroadcastForm(data, users_widget=self.users_widget())
        if form.is_valid():
            fields = form.cleaned_data
            audience = fields["audience"]
            ids = [each.pk for each in fields.get(audience) or []]
            broadcast, message = send(request, audience, fields, ids)
            self.message_user(request, message, messages.SUCCESS)
            changelist = reverse(f"{self.admin_site.name}:notifications_broadcast_changelist")
            return _run_page(broadcast) or HttpResponseRedirect(changelist)
        admin_form = helpers.AdminForm(
            form,  # type: ignore[arg-type]
            self.send_fieldsets,
            {},
            model_admin=self,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Send a broadcast"),
            "adminform": admin_form,
            "object_id": None,
            "original": None,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),  # type: ignore[arg-type]
            "preserved_filters": self.get_preserved_filters(request),
            "active_users": active_users(),
            "send_now_up_to": SEND_NOW_UP_TO,
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=True, form_url=form_url)


if apps.is_installed("notifications"):
    admin.site.register(Broadcast, BroadcastAdmin)


def offer_send_actions(site: admin.AdminSite = admin.site) -> None:
    """Add the send actions to the admin of users and of groups, where registered."""
    import django.contrib.auth.admin  # noqa: F401 (registers them first)

    for model, action in ((get_user_model(), notify_users), (Group, notify_groups)):
        model_admin = site._registry.get(model)
        if model_admin is not None and action not in (model_admin.actions or []):
            model_admin.actions = [*(model_admin.actions or []), action]


offer_send_actions()
