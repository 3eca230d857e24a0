from django.urls import include, path

from tests.test_views import TaskStreamView

urlpatterns = [
    path("task-events/<str:stream>/", TaskStreamView.as_view()),
    path("", include("project.urls")),
]
