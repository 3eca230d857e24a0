import json
import threading
import time

import pytest
from django.db import connections, transaction

from notifications.log import Event
from notifications.tasks import cancel, current_run, progress, start
from notifications.tasks.compat import TaskContext
from notifications.tasks.models import TaskRun
from notifications.tasks.testing import run_task, task_events, task_output
from tests.tasks import jobs

pytestmark = pytest.mark.django_db(transaction=True)

Status = TaskRun.Status


events_of, output_of = task_events, task_output


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_run_reports_progress_and_ends_with_its_result(immediate_tasks, django_user_model):
    alice = django_user_model.objects.create_user("alice")
    run = start(jobs.steps, 3, 0.0, owner=alice)
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED and run.owner == alice
    assert run.result == {"steps": 3} and run.fraction == 1.0 and run.message == "step 3"
    assert run.arguments == "3, 0.0" and run.task_name == "tests.tasks.jobs.steps"
    assert run.started_at and run.finished_at and run.backend_result_id
    types = [type for type, _ in events_of(run)]
    assert types[:2] == ["task.queued", "task.started"] and types[-1] == "task.succeeded"
    assert output_of(run) == "step 1\nstep 2\nstep 3\n"
    final = events_of(run)[-1][1]
    assert final["result"] == {"steps": 3} and final["progress"]["fraction"] == 1.0


def test_a_hundred_thousand_reports_store_at_most_the_configured_rate(immediate_tasks, settings):
    settings.NOTIFICATIONS = {"TASK_PROGRESS_RATE": 10.0}
    began = time.monotonic()
    run = start(jobs.report_often, 100_000)
    elapsed = time.monotonic() - began
    run.refresh_from_db()
    types = [type for type, _ in events_of(run)]
    stored = types.count("task.progress")
    assert 1 <= stored <= elapsed * 10 + 2, (stored, elapsed)
    assert types[-1] == "task.succeeded" and types.count("task.succeeded") == 1
    assert run.progress_current == 100_000 and run.message == "100000 of 100000"


def test_every_output_chunk_is_stored_once_in_order_in_few_events(immediate_tasks):
    run = start(jobs.write_chunks, 20_000)
    expected = "".join(f"{number:08d}\n" for number in range(20_000))
    assert output_of(run) == expected
    output_events = [type for type, _ in events_of(run)].count("task.output")
    assert 1 <= output_events < 200
    assert events_of(run)[-1][0] == "task.succeeded"


def test_a_failing_task_fails_its_run_and_keeps_the_traceback_off_the_stream(immediate_tasks):
    run = start(jobs.fail, "it broke")
    run.refresh_from_db()
    assert run.status == Status.FAILED and run.failure_reason == "exception"
    assert (run.error_type, run.error_message) == ("ValueError", "it broke")
    assert "raise ValueError(message)" in run.error_traceback
    type, data = events_of(run)[-1]
    assert type == "task.failed"
    assert data["error"] == {"type": "ValueError", "message": "it broke"}
    assert "Traceback" not in json.dumps(events_of(run))
    assert output_of(run) == "about to fail\n"


def test_a_result_that_cannot_be_stored_fails_the_run(immediate_tasks):
    run = start(jobs.unstorable)
    run.refresh_from_db()
    assert run.status == Status.FAILED and run.error_type == "TypeError"


def test_async_tasks_stream_their_tokens(immediate_tasks):
    run = start(jobs.stream_async, 500)
    run.refresh_from_db()
    expected = "".join(f"t{number} " for number in range(500))
    assert run.status == Status.SUCCEEDED and run.result == expected
    assert output_of(run) == expected


def test_a_task_taking_its_context_learns_its_result_id(immediate_tasks):
    run = start(jobs.knows_its_context)
    run.refresh_from_db()
    assert run.result == run.backend_result_id and run.result
    assert output_of(run) == f"result {run.backend_result_id}\n"


def test_a_plain_enqueue_still_gets_a_run(immediate_tasks):
    result = jobs.steps.enqueue(2, 0.0)
    run = TaskRun.objects.get(backend_result_id=result.id)
    assert run.status == Status.SUCCEEDED and run.owner is None


def test_nothing_starts_when_the_transaction_rolls_back(queued_tasks):
    def start_then_fail():
        with transaction.atomic():
            start(jobs.steps, 1, 0.0)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        start_then_fail()
    assert not TaskRun.objects.exists() and not Event.objects.exists()


def test_start_refuses_tasks_that_do_not_report():
    with pytest.raises(TypeError, match=r"notifications\.tasks\.task"):
        start(jobs.plain)


def test_reports_outside_a_run_are_accepted_and_forgotten():
    progress(1, 2, "fine")
    current_run().write("nowhere")
    current_run().check_cancelled()


def test_a_queued_run_cancelled_before_a_worker_takes_it_never_starts(queued_tasks):
    jobs.ran.clear()
    run = start(jobs.wait_for_cancel)
    run.refresh_from_db()
    assert run.status == Status.QUEUED and run.backend_result_id
    cancelled = cancel(run)
    assert cancelled.status == Status.CANCELLED
    result = jobs.wait_for_cancel.get_backend().get_result(run.backend_result_id)
    jobs.wait_for_cancel.call(TaskContext(task_result=result), *result.args, **result.kwargs)
    assert jobs.ran == []
    assert [type for type, _ in events_of(run)] == ["task.queued", "task.cancelled"]


@pytest.mark.parametrize("job", [jobs.wait_for_cancel, jobs.check_until_cancelled])
def test_a_running_run_stops_at_its_next_report_or_check(immediate_tasks, settings, job):
    settings.NOTIFICATIONS = {"TASK_HEARTBEAT_INTERVAL": 0.05}

    def run_like_a_worker():
        try:
            start(job)
        finally:
            connections.close_all()

    worker = threading.Thread(target=run_like_a_worker)
    worker.start()
    wait_for(lambda: TaskRun.objects.filter(status=Status.RUNNING).exists())
    run = TaskRun.objects.get()
    asked = time.monotonic()
    assert cancel(run).cancel_requested_at is not None
    worker.join(10)
    assert not worker.is_alive() and time.monotonic() - asked < 2
    run.refresh_from_db()
    assert run.status == Status.CANCELLED
    types = [type for type, _ in events_of(run)]
    assert "task.cancelling" in types and types[-1] == "task.cancelled"
    assert cancel(run).status == Status.CANCELLED


def test_run_task_runs_a_task_here_whatever_backend_the_site_uses(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    run = run_task(jobs.steps, 2, 0.0, owner=alice)
    assert run.status == Status.SUCCEEDED and run.owner == alice
    assert task_output(run) == "step 1\nstep 2\n"
    assert [type for type, _ in task_events(run)][-1] == "task.succeeded"
