from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from project.views import ConsoleView, SignInView

urlpatterns = [
    path("", TemplateView.as_view(template_name="index.html"), name="index"),
    path("console/", ConsoleView.as_view(), name="console"),
    path("admin/", admin.site.urls),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("live/", include("notifications.urls")),
    path("api/", include("notifications.api_urls")),
]
