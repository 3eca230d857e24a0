from django.urls import include, path

from notifications.views import StreamView, TokenView

app_name = "notifications"

urlpatterns = [
    path("events/<str:stream>/", StreamView.as_view(), name="events"),
    path("token/", TokenView.as_view(), name="token"),
    path("tasks/", include("notifications.tasks.urls")),
    path("", include("notifications.inbox.urls")),
]
