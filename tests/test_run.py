"""`make run`'s launcher: the demo site and its task worker start together and Ctrl-C stops
both."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from notifications.tasks import start
from notifications.tasks.models import TaskRun
from tests.servers import ROOT, free_port, wait_for_port
from tests.tasks import jobs

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


async def test_the_site_and_its_worker_run_together_and_stop_together(live_env):
    port = free_port()
    launcher = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "project.run"],
        cwd=ROOT,
        env={**os.environ, **live_env, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        await sync_to_async(wait_for_port)(port, 30, launcher)
        run = await sync_to_async(start)(jobs.steps, 2, 0.01)
        deadline = time.monotonic() + 30
        while (await TaskRun.objects.aget(pk=run.pk)).status != TaskRun.Status.SUCCEEDED:
            assert time.monotonic() < deadline, "the worker did not run the task"
            await sync_to_async(time.sleep)(0.1)
        started = children(launcher.pid)
        assert len(started) == 2
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(30) == 0
        assert not any(alive(pid) for pid in started)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
