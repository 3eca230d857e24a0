"""Real processes: runs executed by `db_worker`, watched over SSE through daphne, with Redis
(instant) and without it (the database resync), and a worker killed mid-run."""

import json
import statistics
import time

import pytest
from asgiref.sync import sync_to_async

from notifications.tasks import start
from notifications.tasks.models import TaskRun
from tests.clients import SseWatcher
from tests.tasks import jobs

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

astart = sync_to_async(start)


async def wait_for_status(run, status, timeout=20.0):
    deadline = time.monotonic() + timeout
    while (await TaskRun.objects.aget(pk=run.pk)).status != status:
        assert time.monotonic() < deadline, f"run is not {status}"
        await sync_to_async(time.sleep)(0.05)


def is_terminal(event):
    return event.event in {"task.succeeded", "task.failed", "task.cancelled"}


@pytest.mark.parametrize(
    ("redis_url", "resync", "bound"),
    [(None, "0.5", 1.0), ("", "2", 2 + 1.0)],
    ids=["redis", "no-redis"],
)
async def test_a_worker_streams_progress_to_a_watcher_through_daphne(
    daphne, worker, make_user, live_env, redis_url, resync, bound
):
    env = {"NOTIFICATIONS_RESYNC_INTERVAL": resync}
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    server = daphne(**env)
    worker(**env)
    alice, session = await make_user("alice")
    run = await astart(jobs.steps, 20, 0.1, owner=alice)
    connected = time.time()
    watcher = await SseWatcher(
        f"{server.http}/live/tasks/{run.pk}/events/", session=session, last_event_id="0"
    ).start()
    try:
        await watcher.until(is_terminal, timeout=30)
    finally:
        await watcher.close()
    events = [event for event, _ in watcher.events]
    assert [int(event.id) for event in events] == list(range(1, len(events) + 1))
    assert events[-1].event == "task.succeeded" and watcher.ended
    lines = "".join(
        json.loads(event.data)["data"]["text"] for event in events if event.event == "task.output"
    )
    assert lines == "".join(f"step {number}\n" for number in range(1, 21))
    delays = [
        arrived - _timestamp(json.loads(event.data)["at"])
        for event, arrived in watcher.events
        if _timestamp(json.loads(event.data)["at"]) > connected + 0.5
    ]
    assert len(delays) >= 10
    assert max(delays) < bound, delays
    if redis_url is None:
        assert statistics.median(delays) < 0.1, delays


async def test_a_killed_worker_is_noticed_and_another_worker_carries_on(daphne, worker, make_user):
    env = {
        "NOTIFICATIONS_TASK_HEARTBEAT_INTERVAL": "0.2",
        "NOTIFICATIONS_TASK_WORKER_TIMEOUT": "2",
        "NOTIFICATIONS_RESYNC_INTERVAL": "0.5",
    }
    server = daphne(**env)
    doomed = worker("doomed", **env)
    alice, session = await make_user("alice")
    long_run = await astart(jobs.steps, 10_000, 0.05, owner=alice)
    await wait_for_status(long_run, TaskRun.Status.RUNNING)
    worker("survivor", **env)
    watcher = await SseWatcher(
        f"{server.http}/live/tasks/{long_run.pk}/events/", session=session, last_event_id="0"
    ).start()
    try:
        await watcher.until(lambda event: event.event == "task.progress")
        doomed.kill()
        killed = time.monotonic()
        lost = await watcher.until(is_terminal, timeout=15)
        noticed = time.monotonic() - killed
    finally:
        await watcher.close()
    data = json.loads(lost.data)["data"]
    assert lost.event == "task.failed" and data["reason"] == "worker_lost"
    assert noticed < 2 + 0.5 + 2.0, noticed
    replay = await SseWatcher(
        f"{server.http}/live/tasks/{long_run.pk}/events/", session=session, last_event_id="0"
    ).start()
    try:
        await replay.until(is_terminal)
    finally:
        await replay.close()
    lines = "".join(
        json.loads(event.data)["data"]["text"]
        for event, _ in replay.events
        if event.event == "task.output"
    ).splitlines()
    assert lines and lines == [f"step {number}" for number in range(1, len(lines) + 1)]
    next_run = await astart(jobs.steps, 3, 0.01, owner=alice)
    await wait_for_status(next_run, TaskRun.Status.SUCCEEDED)


def _timestamp(iso):
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
