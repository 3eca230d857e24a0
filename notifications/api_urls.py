"""The REST API (needs djangorestframework): `path("api/", include("notifications.api_urls"))`."""

from django.urls import path

from notifications.viewsets import StreamEventViewSet, TokenAPIView

app_name = "notifications-api"

urlpatterns = [
    path(
        "streams/<str:stream>/events/",
        StreamEventViewSet.as_view({"get": "list", "post": "create"}),
        name="stream-events",
    ),
    path("token/", TokenAPIView.as_view(), name="token"),
]
