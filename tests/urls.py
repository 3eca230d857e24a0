from django.urls import include, path

from tests.test_views import RecordingStreamView, TaskStreamView

urlpatterns = [
    path("task-events/<str:stream>/", TaskStreamView.as_view()),
    path("recorded-events/<str:stream>/", RecordingStreamView.as_view()),
    path("", include("project.urls")),
]
