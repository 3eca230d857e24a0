"""A database built by django-notifications-hq 1.8.3's own migrations and `notify.send`
(tests/fixtures, made once by scripts/make-hq-fixture) upgrades to ours with every notification
kept. Each step runs `manage.py` on a copy of it in a subprocess, never on the test database."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
HQ = "django-notifications-hq-1.8.3"
MIGRATIONS = sorted(
    path.stem for path in (REPO / "notifications" / "migrations").glob("[0-9][0-9][0-9][0-9]_*.py")
)

READ = """
import json
import django

django.setup()
from django.contrib.auth import get_user_model
from notifications.models import Notification


def identity(content_type, object_id, obj):
    if content_type is None:
        return None
    kind = f"{content_type.app_label}.{content_type.model}"
    return {"type": kind, "id": object_id, "str": None if obj is None else str(obj)}


rows = [
    {
        "id": n.id,
        "slug": n.slug,
        "recipient": n.recipient.username,
        "actor": identity(n.actor_content_type, n.actor_object_id, n.actor),
        "verb": n.verb,
        "level": n.level,
        "unread": n.unread,
        "deleted": n.deleted,
        "emailed": n.emailed,
        "public": n.public,
        "description": n.description,
        "data": n.data,
        "timestamp": n.timestamp.isoformat(),
        "target": identity(n.target_content_type, n.target_object_id, n.target),
        "action_object": identity(
            n.action_object_content_type, n.action_object_object_id, n.action_object
        ),
        "read_at": n.read_at,
    }
    for n in Notification.objects.all()
]
counts = {u.username: u.notifications.unread().count() for u in get_user_model().objects.all()}
print(json.dumps({"notifications": rows, "unread_counts": counts}))
"""

NOTIFY = """
import json
import django

django.setup()
from django.contrib.auth import get_user_model
from notifications.inbox.api import notify
from notifications.log import Event
from notifications.models import Notification

users = get_user_model().objects
bob = users.get(username="bob")
before = bob.notifications.unread().count()
sent = notify(bob, "checked in", actor=users.get(username="zoë"), data={"after": "the upgrade"})
new = bob.notifications.get(verb="checked in")
print(json.dumps({
    "sent": sent,
    "id": new.id,
    "actor": str(new.actor),
    "data": new.data,
    "unread": [before, bob.notifications.unread().count()],
    "total": Notification.objects.count(),
    "events": list(Event.objects.filter(stream=f"user:{bob.id}").values_list("type", flat=True)),
}))
"""


def python(database: Path, *args: str) -> str:
    """`python *args` with the demo settings on the SQLite file `database`; its stdout."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings", "SQLITE_PATH": str(database)}
    for name in ("DATABASE_URL", "REDIS_URL", "REDIS_LAYER", "TEST_DATABASE_NAME"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return json.loads((FIXTURES / f"{HQ}.json").read_text())


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the hq database, migrated to ours."""
    database = tmp_path_factory.mktemp("upgrade") / "hq.sqlite3"
    shutil.copyfile(FIXTURES / f"{HQ}.sqlite3", database)
    python(database, "manage.py", "migrate", "--noinput")
    return database


@pytest.fixture(scope="module")
def seen(upgraded: Path) -> dict[str, Any]:
    """Every notification and unread count, as our model reads them after the upgrade."""
    return json.loads(python(upgraded, "-c", READ))


@pytest.fixture(scope="module")
def notified(upgraded: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What `notify()` does to bob on a copy of the upgraded database."""
    database = tmp_path_factory.mktemp("notified") / "upgraded.sqlite3"
    with sqlite3.connect(upgraded) as source, sqlite3.connect(database) as target:
        source.backup(target)
    source.close()
    target.close()
    return json.loads(python(database, "-c", NOTIFY))


def by_id(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in rows}


def test_every_notification_is_kept_with_its_values(expected, seen):
    kept = by_id(seen["notifications"])
    assert len(expected["notifications"]) == 25
    assert kept.keys() == by_id(expected["notifications"]).keys()
    for want in expected["notifications"]:
        assert kept[want["id"]] == {
            **{key: value for key, value in want.items() if key != "data_as_stored"},
            "read_at": None,
        }


def test_data_is_parsed_from_what_jsonfield_stored(expected, seen):
    kept = by_id(seen["notifications"])
    asked = next(row for row in expected["notifications"] if row["verb"] == "asked")
    assert "\\u4e16" in asked["data_as_stored"]
    assert kept[asked["id"]]["data"]["extra"]["greeting"] == "Grüße, 世界 🎉"
    assert {json.dumps(row["data"]) for row in seen["notifications"]} >= {"null", "{}"}


def test_the_order_is_newest_first(expected, seen):
    timestamps = [row["timestamp"] for row in seen["notifications"]]
    assert timestamps == [row["timestamp"] for row in expected["notifications"]]
    assert timestamps == sorted(timestamps, reverse=True)
    ids = [row["id"] for row in seen["notifications"]]
    assert ids != sorted(ids)
    assert ids != sorted(ids, reverse=True)


def test_each_users_unread_count_is_kept(expected, seen):
    assert seen["unread_counts"] == expected["unread_counts"]


def test_every_migration_is_applied(expected, upgraded):
    shown = python(upgraded, "manage.py", "showmigrations", "notifications")
    applied = re.findall(r"^ \[X\] (\S+)$", shown, re.MULTILINE)
    assert applied == MIGRATIONS
    assert MIGRATIONS[:9] == expected["migrations"]
    assert [name[:4] for name in MIGRATIONS] == [f"{n:04d}" for n in range(1, len(MIGRATIONS) + 1)]
    assert "[ ]" not in shown


def test_the_upgraded_database_needs_no_new_migration(upgraded):
    said = python(upgraded, "manage.py", "makemigrations", "--check", "--dry-run", "notifications")
    assert said.strip() == "No changes detected in app 'notifications'"


def schema(database: Path) -> set[tuple[str, str, str]]:
    """Our tables and their indexes, as SQLite states them."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name LIKE 'notifications_%'"
        ).fetchall()
    connection.close()
    return set(rows)


def test_the_upgraded_schema_is_a_fresh_installs(upgraded, tmp_path):
    fresh = tmp_path / "fresh.sqlite3"
    python(fresh, "manage.py", "migrate", "--noinput", "notifications")
    assert schema(upgraded) == schema(fresh)
    assert ("index", "notificatio_recipie_8bedf2_idx") in {row[:2] for row in schema(upgraded)}


def test_notify_works_after_the_upgrade(expected, notified):
    assert notified["sent"] == 1
    assert notified["actor"] == "zoë"
    assert notified["data"] == {"after": "the upgrade"}
    assert notified["unread"] == [
        expected["unread_counts"]["bob"],
        expected["unread_counts"]["bob"] + 1,
    ]
    assert notified["total"] == len(expected["notifications"]) + 1
    assert notified["events"] == ["notification.created"]


def test_new_ids_follow_the_ones_hq_gave(expected, notified):
    """No id (and so no slug in an old e-mail's link) is given twice, even one hq deleted."""
    assert notified["id"] == expected["next_id"]
