from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import UserPassesTestMixin
from django.contrib.auth.views import LoginView
from django.views.generic import TemplateView

from notifications.history import recent_or_refused
from project.demo_account import DEMO_ACCOUNTS


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
