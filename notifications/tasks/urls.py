from django.urls import path

from notifications.tasks.views import RunChatView, RunEventsView, RunTextStreamView

urlpatterns = [
    path("<uuid:run_id>/events/", RunEventsView.as_view(), name="task-events"),
    path("<uuid:run_id>/ui-stream/", RunTextStreamView.as_view(), name="task-ui-stream"),
    path("chat", RunChatView.as_view(), name="task-chat"),
    path("chat/<str:chat_id>/stream", RunChatView.as_view(), name="task-chat-stream"),
]
