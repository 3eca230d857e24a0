"""Print the keys of Django sessions of logged-in benchmark users (created if missing), one per
line: one user per receiver, as real traffic has (and as the per-user connection cap expects).

    SQLITE_PATH=... python -m benchmarks.session [COUNT]

Run it against the same database as the server (same SQLITE_PATH or DATABASE_URL), after
`manage.py migrate`.
"""

from __future__ import annotations

import os
import sys


def create_sessions(count: int = 1, prefix: str = "bench", staff: bool = False) -> list[str]:
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    keys = []
    for n in range(count):
        user, _ = get_user_model().objects.get_or_create(
            username=f"{prefix}{n}", defaults={"is_staff": staff}
        )
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        keys.append(str(store.session_key))
    return keys


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    print("\n".join(create_sessions(int(sys.argv[1]) if len(sys.argv) > 1 else 1)))
