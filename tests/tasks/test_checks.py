from notifications.tasks.checks import check_task_settings


def messages(settings, **configured):
    settings.NOTIFICATIONS = configured
    return [message.msg for message in check_task_settings()]


def test_startable_and_chat_tasks_must_be_live_tasks(settings):
    assert messages(settings, STARTABLE_TASKS=["tests.tasks.jobs.steps"]) == []
    assert messages(settings, CHAT_TASK="tests.tasks.jobs.chat_reply") == []
    (plain,) = messages(settings, STARTABLE_TASKS=["tests.tasks.jobs.plain"])
    assert "not a task made with notifications.tasks.task" in plain
    (missing,) = messages(settings, CHAT_TASK="tests.tasks.nowhere.reply")
    assert "cannot be imported" in missing
    (shape,) = messages(settings, STARTABLE_TASKS="tests.tasks.jobs.steps")
    assert "list of dotted paths" in shape


def test_the_url_confs_load_without_the_tasks_api():
    """Sites that use no tasks need no Tasks API: nothing imports it until a task is made."""
    import subprocess
    import sys

    code = (
        "import django, sys; django.setup(); "
        "import notifications.urls, notifications.api_urls, notifications.admin; "
        "print('notifications.tasks.compat' in sys.modules)"
    )
    env_settings = {"DJANGO_SETTINGS_MODULE": "tests.settings_without_tasks"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**__import__("os").environ, **env_settings},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False"
