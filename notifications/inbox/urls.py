"""django-notifications-hq's URLs (names and paths), and marking a send to everyone read;
included by `notifications.urls`."""

from django.urls import path

from notifications.inbox import views

urlpatterns = [
    path("", views.AllNotificationsList.as_view(), name="all"),
    path("unread/", views.UnreadNotificationsList.as_view(), name="unread"),
    path("mark-all-as-read/", views.mark_all_as_read, name="mark_all_as_read"),
    path("mark-as-read/<int:slug>/", views.mark_as_read, name="mark_as_read"),
    path("mark-as-unread/<int:slug>/", views.mark_as_unread, name="mark_as_unread"),
    path("delete/<int:slug>/", views.delete, name="delete"),
    path(
        "broadcast/<int:broadcast_id>/read/",
        views.mark_broadcast_as_read,
        name="mark_broadcast_as_read",
    ),
    path(
        "api/unread_count/",
        views.live_unread_notification_count,
        name="live_unread_notification_count",
    ),
    path("api/all_count/", views.live_all_notification_count, name="live_all_notification_count"),
    path(
        "api/unread_list/",
        views.live_unread_notification_list,
        name="live_unread_notification_list",
    ),
    path("api/all_list/", views.live_all_notification_list, name="live_all_notification_list"),
]
