"""`python -m hq_tests COMMAND [ARG ...]`: a `django-admin` command run with
django-notifications-hq's own settings (`notifications.tests.settings`); `test` without labels
runs their whole suite, recording each outcome (see `runner.py`).

The copy of their `notifications/tests/` package lives outside our source tree, in
`$HQ_TESTS_OVERLAY/notifications/tests/`; that directory is appended to our package's
`__path__`, so `notifications.tests` imports from there while every other `notifications.*`
module is ours. With `HQ_TESTS_GET_ACTIONS=1`, `NOTIFICATIONS = {"INBOX_GET_ACTIONS": True}` is
added to their settings module before Django reads it (the site's opt-in to GET on the
state-changing views). `SAMPLE_APP=1` selects their swapped-model mode, as in their settings."""

from __future__ import annotations

import importlib
import os
import sys

LABELS = [
    # The order of their `manage.py test` discovery (sorted directories: the sample app's
    # module first, which matters: its AdminTest.setUpClass changes the base class).
    "notifications.tests.sample_notifications.tests",
    "notifications.tests.tests",
]


def main() -> None:
    import notifications

    notifications.__path__.append(os.path.join(os.environ["HQ_TESTS_OVERLAY"], "notifications"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "notifications.tests.settings"
    if os.environ.get("HQ_TESTS_GET_ACTIONS"):
        their_settings = importlib.import_module("notifications.tests.settings")
        their_settings.NOTIFICATIONS = {"INBOX_GET_ACTIONS": True}  # type: ignore[attr-defined]

    from django.core.management import execute_from_command_line

    args = sys.argv[1:]
    if args[:1] == ["test"]:
        args.insert(1, "--testrunner=hq_tests.runner.RecordingRunner")
        if all(arg.startswith("-") for arg in args[1:]):
            args += LABELS
    execute_from_command_line(["django-admin", *args])


if __name__ == "__main__":
    main()
