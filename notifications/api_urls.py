"""The REST API (needs djangorestframework): `path("api/", include("notifications.api_urls"))`."""

from django.urls import path
from rest_framework.renderers import JSONOpenAPIRenderer
from rest_framework.schemas import get_schema_view

from notifications.chat.viewsets import MemberViewSet, MessageViewSet, RoomViewSet
from notifications.inbox.viewsets import NotificationViewSet
from notifications.tasks.viewsets import TaskRunViewSet
from notifications.viewsets import StreamEventViewSet, TokenAPIView

app_name = "notifications-api"

urlpatterns = [
    path(
        "streams/<str:stream>/events/",
        StreamEventViewSet.as_view({"get": "list", "post": "create"}),
        name="stream-events",
    ),
    path("token/", TokenAPIView.as_view(), name="token"),
    path("tasks/", TaskRunViewSet.as_view({"get": "list", "post": "create"}), name="task-list"),
    path("tasks/<uuid:run_id>/", TaskRunViewSet.as_view({"get": "retrieve"}), name="task-detail"),
    path(
        "tasks/<uuid:run_id>/cancel/",
        TaskRunViewSet.as_view({"post": "cancel"}),
        name="task-cancel",
    ),
    path(
        "notifications/",
        NotificationViewSet.as_view({"get": "list"}),
        name="notification-list",
    ),
    path(
        "notifications/unread-count/",
        NotificationViewSet.as_view({"get": "unread_count"}),
        name="notification-unread-count",
    ),
    path(
        "notifications/read-all/",
        NotificationViewSet.as_view({"post": "read_all"}),
        name="notification-read-all",
    ),
    path(
        "notifications/<int:pk>/",
        NotificationViewSet.as_view({"delete": "destroy"}),
        name="notification-detail",
    ),
    path(
        "notifications/<int:pk>/read/",
        NotificationViewSet.as_view({"post": "read"}),
        name="notification-read",
    ),
    path(
        "notifications/<int:pk>/unread/",
        NotificationViewSet.as_view({"post": "unread"}),
        name="notification-unread",
    ),
    path(
        "chat/rooms/",
        RoomViewSet.as_view({"get": "list", "post": "create"}),
        name="chat-room-list",
    ),
    path(
        "chat/rooms/direct/",
        RoomViewSet.as_view({"post": "direct"}),
        name="chat-direct",
    ),
    path(
        "chat/rooms/<slug:slug>/",
        RoomViewSet.as_view({"get": "retrieve"}),
        name="chat-room-detail",
    ),
    path(
        "chat/rooms/<slug:slug>/read/",
        RoomViewSet.as_view({"post": "read"}),
        name="chat-room-read",
    ),
    path(
        "chat/rooms/<slug:slug>/members/",
        MemberViewSet.as_view({"get": "list"}),
        name="chat-member-list",
    ),
    path(
        "chat/rooms/<slug:slug>/messages/",
        MessageViewSet.as_view({"get": "list", "post": "create"}),
        name="chat-message-list",
    ),
    path(
        "chat/rooms/<slug:slug>/messages/<int:pk>/",
        MessageViewSet.as_view({"patch": "partial_update", "delete": "destroy"}),
        name="chat-message-detail",
    ),
    path(
        "schema/",
        get_schema_view(
            title="Live notifications API", renderer_classes=[JSONOpenAPIRenderer], public=True
        ),
        name="schema",
    ),
]
