"""Create the demo admin account if it is missing, and print how to sign in."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

USERNAME, PASSWORD = "admin", "admin"

User = get_user_model()
if not User.objects.filter(username=USERNAME).exists():
    User.objects.create_superuser(USERNAME, "admin@example.com", PASSWORD)
port = os.environ.get("PORT", "8000")
print(f"\n  Demo site: http://127.0.0.1:{port}/   sign in as {USERNAME} / {PASSWORD}\n")
