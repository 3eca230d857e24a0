"""Print the keys of Django sessions of logged-in benchmark users (created if missing), one per
line: one user per receiver, as real traffic has (and as the per-user connection cap expects).

    SQLITE_PATH=... python -m benchmarks.session [COUNT]
    DATABASE_URL=... python -m benchmarks.session --first COUNT

`--first COUNT` logs in the first COUNT existing users (by pk) instead, with their sessions
written in bulk (a few queries for any COUNT), and prints `<pk> <session key>` lines in pk
order. Both write what `django.contrib.auth.login()` leaves in a session, so a server reads
them through its ordinary session and auth code.

Run it against the same database as the server (same SQLITE_PATH or DATABASE_URL), after
`manage.py migrate`.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _login_data(user: Any) -> dict[str, str]:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    return {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        HASH_SESSION_KEY: user.get_session_auth_hash(),
    }


def create_sessions(count: int = 1, prefix: str = "bench", staff: bool = False) -> list[str]:
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    keys = []
    for n in range(count):
        user, _ = get_user_model().objects.get_or_create(
            username=f"{prefix}{n}", defaults={"is_staff": staff}
        )
        store = SessionStore()
        store.update(_login_data(user))
        store.create()
        keys.append(str(store.session_key))
    return keys


def bulk_sessions(count: int, batch_size: int = 5000) -> list[tuple[int, str]]:
    """A login session for each of the first `count` users by pk, inserted in bulk:
    `(pk, session key)` pairs in pk order."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.base import VALID_KEY_CHARS
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils.crypto import get_random_string

    store = SessionStore()
    expires = store.get_expiry_date()
    model = store.get_model_class()
    users = get_user_model().objects.order_by("pk")[:count]
    pairs: list[tuple[int, str]] = []
    rows = []
    for user in users.iterator(chunk_size=batch_size):
        key = get_random_string(32, VALID_KEY_CHARS)
        rows.append(
            model(
                session_key=key, session_data=store.encode(_login_data(user)), expire_date=expires
            )
        )
        pairs.append((int(user.pk), key))
    model.objects.bulk_create(rows, batch_size=batch_size)
    return pairs


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    if sys.argv[1:2] == ["--first"]:
        print("\n".join(f"{pk} {key}" for pk, key in bulk_sessions(int(sys.argv[2]))))
    else:
        print("\n".join(create_sessions(int(sys.argv[1]) if len(sys.argv) > 1 else 1)))
