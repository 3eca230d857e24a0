"""Print the key of a Django session of a logged-in benchmark user (created if missing).

    SQLITE_PATH=... python -m benchmarks.session

Run it against the same database as the server (same SQLITE_PATH or DATABASE_URL), after
`manage.py migrate`. One user and one session are shared by every receiver connection.
"""

from __future__ import annotations

import os


def create_session(username: str = "bench") -> str:
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    user, _ = get_user_model().objects.get_or_create(username=username)
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return str(store.session_key)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    print(create_session())
