"""django-notifications-hq's pages and JSON endpoints, under its URL names. State-changing views
take POST (with CSRF); GET only where `NOTIFICATIONS["INBOX_GET_ACTIONS"]` is on."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import DisallowedHost
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.decorators import method_decorator
from django.utils.encoding import iri_to_uri
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.generic import ListView

from notifications.conf import app_settings
from notifications.inbox.conf import get_config
from notifications.inbox.helpers import (
    RELATED,
    as_dict,
    get_notification_list,
    inbox_of,
    listed,
)
from notifications.inbox.models import get_notification_model
from notifications.inbox.slugs import slug2id

View = Callable[..., HttpResponse]


@method_decorator(login_required, name="dispatch")
class NotificationViewList(ListView):  # type: ignore[type-arg]
    template_name = "notifications/list.html"
    context_object_name = "notifications"

    def get_paginate_by(self, queryset: Any) -> int:
        return int(get_config()["PAGINATE_BY"])


class AllNotificationsList(NotificationViewList):
    def get_queryset(self) -> Any:
        return listed(inbox_of(self.request))


class UnreadNotificationsList(NotificationViewList):
    def get_queryset(self) -> Any:
        manager = inbox_of(self.request)
        return manager.unread().prefetch_related(*RELATED)


def changes_state(view: View) -> View:
    """POST only (so CSRF applies), or GET too where the site opted in."""

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        allowed = ["POST", "GET"] if app_settings.INBOX_GET_ACTIONS else ["POST"]
        if request.method not in allowed:
            return HttpResponseNotAllowed(allowed)
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return login_required(wrapper)


@changes_state
def mark_all_as_read(request: HttpRequest) -> HttpResponse:
    inbox_of(request).mark_all_as_read()
    return _next_or(request, "notifications:unread")


@changes_state
def mark_as_read(request: HttpRequest, slug: str) -> HttpResponse:
    _own(request, slug).mark_as_read()
    return _next_or(request, "notifications:unread")


@changes_state
def mark_as_unread(request: HttpRequest, slug: str) -> HttpResponse:
    _own(request, slug).mark_as_unread()
    return _next_or(request, "notifications:unread")


@changes_state
def delete(request: HttpRequest, slug: str) -> HttpResponse:
    _own(request, slug).remove()
    return _next_or(request, "notifications:all")


@require_POST
@login_required
def mark_broadcast_as_read(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    """Mark my notification of a send to everyone read, making it first if my inbox has not
    taken that send in yet. A fetch that asks for JSON gets the notification and my unread
    count; a form is redirected to `?next=` (or `unread`)."""
    mine = inbox_of(request)
    notification = mine.filter(data__broadcast=broadcast_id).first()
    if notification is None:
        raise Http404("Not in my inbox.")
    notification.mark_as_read()
    if request.get_preferred_type(["text/html", "application/json"]) == "application/json":
        count = mine.unread().count()
        return JsonResponse({"notification": as_dict(notification), "unread_count": count})
    return _next_or(request, "notifications:unread")


@never_cache
def live_unread_notification_count(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"unread_count": 0})
    return JsonResponse({"unread_count": inbox_of(request).unread().count()})


@never_cache
def live_all_notification_count(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"all_count": 0})
    return JsonResponse({"all_count": inbox_of(request).count()})


@never_cache
def live_unread_notification_list(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"unread_count": 0, "unread_list": []})
    items = get_notification_list(request, "unread", mark_read=_may_mark(request))
    count = inbox_of(request).unread().count()
    return JsonResponse({"unread_count": count, "unread_list": items})


@never_cache
def live_all_notification_list(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"all_count": 0, "all_list": []})
    items = get_notification_list(request, "all", mark_read=_may_mark(request))
    count = inbox_of(request).count()
    return JsonResponse({"all_count": count, "all_list": items})


def _may_mark(request: HttpRequest) -> bool:
    """`?mark_as_read=` marks the listed ones read on a POST, or on a GET where allowed."""
    return bool(request.GET.get("mark_as_read")) and (
        request.method == "POST" or app_settings.INBOX_GET_ACTIONS
    )


def _own(request: HttpRequest, slug: str) -> Any:
    return get_object_or_404(get_notification_model(), recipient=request.user, id=slug2id(slug))


def _next_or(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.GET.get("next") or request.POST.get("next")
    hosts = set(settings.ALLOWED_HOSTS)
    with contextlib.suppress(DisallowedHost):
        hosts.add(request.get_host())
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts=hosts):
        return redirect(iri_to_uri(target))
    return redirect(fallback)
