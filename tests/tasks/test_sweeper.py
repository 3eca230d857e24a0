from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from notifications.log import Event
from notifications.tasks import lifecycle
from notifications.tasks.api import readable_run
from notifications.tasks.models import TaskRun
from notifications.tasks.sweeper import sweep
from tests.test_views import SseExchange

pytestmark = pytest.mark.django_db(transaction=True)


def run_with_heartbeat(seconds_ago, owner=None):
    run = lifecycle.create_run("tests.tasks.jobs.steps", (), {}, owner=owner)
    lifecycle.begin(str(run.pk))
    TaskRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds_ago)
    )
    return run


def last_event(run):
    return Event.objects.filter(stream=run.stream).order_by("-seq").first()


def test_a_run_without_a_heartbeat_for_the_timeout_fails_as_worker_lost(settings):
    settings.NOTIFICATIONS = {"TASK_WORKER_TIMEOUT": 10}
    lost, alive = run_with_heartbeat(11), run_with_heartbeat(2)
    finished = run_with_heartbeat(60)
    lifecycle.finish(str(finished.pk), "succeeded", result=1)
    assert sweep() == 1
    lost.refresh_from_db()
    assert lost.status == TaskRun.Status.FAILED and lost.failure_reason == "worker_lost"
    event = last_event(lost)
    assert event.type == "task.failed" and event.data["reason"] == "worker_lost"
    alive.refresh_from_db()
    assert alive.status == TaskRun.Status.RUNNING
    assert last_event(finished).type == "task.succeeded"
    assert sweep() == 0


def test_a_late_outcome_from_a_lost_worker_is_dropped_and_the_terminal_stays_last(settings):
    settings.NOTIFICATIONS = {"TASK_WORKER_TIMEOUT": 1}
    run = run_with_heartbeat(5)
    sweep()
    assert not lifecycle.record(str(run.pk), None, ["late"]).running
    assert not lifecycle.finish(str(run.pk), "succeeded", result=1)
    assert last_event(run).type == "task.failed"


def test_reading_a_stale_run_ends_it(settings, django_user_model):
    settings.NOTIFICATIONS = {"TASK_WORKER_TIMEOUT": 1}
    alice = django_user_model.objects.create_user("alice")
    run = run_with_heartbeat(5, owner=alice)
    assert readable_run(alice, run.pk).status == TaskRun.Status.FAILED


async def test_a_watcher_gets_worker_lost_from_the_server_it_watches_through(make_user, settings):
    settings.NOTIFICATIONS = {"TASK_WORKER_TIMEOUT": 0.5, "RESYNC_INTERVAL": 0.1}
    alice, session = await make_user("alice")
    run = await sync_to_async(run_with_heartbeat)(0, owner=alice)
    exchange = await SseExchange(
        f"/live/tasks/{run.pk}/events/", session, [(b"last-event-id", b"2")]
    ).start()
    lost = await exchange.event(timeout=5)
    assert lost["event"] == ["task.failed"] and '"worker_lost"' in lost["data"][0]
    await exchange.body()
    assert exchange.ended


def test_the_sweep_command_ends_stale_runs(settings):
    from io import StringIO

    from django.core.management import call_command

    settings.NOTIFICATIONS = {"TASK_WORKER_TIMEOUT": 1}
    run = run_with_heartbeat(5)
    out = StringIO()
    call_command("sweep_task_runs", stdout=out)
    assert "Ended 1 run(s)" in out.getvalue()
    run.refresh_from_db()
    assert run.failure_reason == "worker_lost"
