from django.urls import path

from notifications.views import StreamView

app_name = "notifications"

urlpatterns = [
    path("events/<str:stream>/", StreamView.as_view(), name="events"),
]
