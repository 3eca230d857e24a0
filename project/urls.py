from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from project.views import (
    CancelRunView,
    ChatRoomsView,
    ChatRoomView,
    ConsoleView,
    RunView,
    SignInView,
    TasksView,
)

urlpatterns = [
    path("", TemplateView.as_view(template_name="index.html"), name="index"),
    path("console/", ConsoleView.as_view(), name="console"),
    path("chat/", ChatRoomsView.as_view(), name="chat"),
    path("chat/<slug:slug>/", ChatRoomView.as_view(), name="chat-room"),
    path("tasks/", TasksView.as_view(), name="tasks"),
    path("tasks/<uuid:run_id>/", RunView.as_view(), name="task-run"),
    path("tasks/<uuid:run_id>/cancel/", CancelRunView.as_view(), name="task-cancel"),
    path("admin/", admin.site.urls),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("live/", include("notifications.urls")),
    path("api/", include("notifications.api_urls")),
]
