import uuid

import pytest

from notifications.log import Event
from notifications.tasks import lifecycle
from notifications.tasks.compat import task_backends
from notifications.tasks.models import TaskRun
from tests.test_viewsets import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued_tasks")]

Status = TaskRun.Status
CRUNCH = "notifications.tasks.demo.crunch_numbers"
WRITE = "notifications.tasks.demo.write_text"


@pytest.fixture(autouse=True)
def startable(settings):
    settings.NOTIFICATIONS = {"STARTABLE_TASKS": [CRUNCH, WRITE]}


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", is_staff=True)


def queued_run(owner):
    return lifecycle.create_run(CRUNCH, (), {"steps": 3}, owner=owner)


def running_run(owner):
    run = queued_run(owner)
    lifecycle.begin(str(run.pk))
    return run


def failed_run(owner):
    run = running_run(owner)
    lifecycle.finish(
        str(run.pk),
        Status.FAILED,
        error=ValueError("it broke"),
        traceback='Traceback (most recent call last):\n  File "x.py"\nValueError: it broke\n',
    )
    return run


def event_types(run):
    return list(
        Event.objects.filter(stream=run.stream).order_by("seq").values_list("type", flat=True)
    )


def test_the_list_shows_only_my_runs_newest_first(alice, bob):
    mine = [queued_run(alice) for _ in range(3)]
    queued_run(bob)
    response = client_for(alice).get("/api/tasks/")
    assert response.status_code == 200
    assert [run["id"] for run in response.json()["results"]] == [str(r.pk) for r in mine[::-1]]


def test_the_list_pages_by_cursor(alice):
    runs = [queued_run(alice) for _ in range(3)]
    first = client_for(alice).get("/api/tasks/?limit=2").json()
    assert [run["id"] for run in first["results"]] == [str(runs[2].pk), str(runs[1].pk)]
    rest = client_for(alice).get(first["next"]).json()
    assert [run["id"] for run in rest["results"]] == [str(runs[0].pk)]
    assert rest["next"] is None


def test_the_list_filters_by_status(alice):
    queued, running, cancelled = queued_run(alice), running_run(alice), queued_run(alice)
    lifecycle.request_cancel(cancelled)
    client = client_for(alice)
    only_cancelled = client.get("/api/tasks/?status=cancelled").json()["results"]
    assert [run["id"] for run in only_cancelled] == [str(cancelled.pk)]
    unfinished = client.get("/api/tasks/?status=queued,running").json()["results"]
    assert {run["id"] for run in unfinished} == {str(queued.pk), str(running.pk)}
    refused = client.get("/api/tasks/?status=done")
    assert refused.status_code == 400 and "done" in refused.json()["status"][0]


def test_starting_a_startable_task_answers_201_with_where_to_watch_it(
    alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(
            "/api/tasks/",
            {"task": CRUNCH, "arguments": {"steps": 3, "delay": 0}, "topic": "demo"},
            format="json",
        )
    assert response.status_code == 201
    body = response.json()
    run = TaskRun.objects.get()
    assert body["id"] == str(run.pk) and run.owner == alice and run.topic == "demo"
    assert (body["task"], body["status"], body["arguments"]) == (
        CRUNCH,
        "queued",
        "steps=3, delay=0",
    )
    assert body["stream"] == f"task:{run.pk}"
    assert body["events_url"] == f"http://testserver/live/tasks/{run.pk}/events/"
    assert body["ui_stream_url"] == f"http://testserver/live/tasks/{run.pk}/ui-stream/"
    assert body["progress"] == {"current": None, "total": None, "fraction": None, "message": ""}
    assert (body["result"], body["error"], body["reason"]) == (None, None, None)
    assert "traceback" not in body
    [enqueued] = task_backends["default"].results
    assert enqueued.id == run.backend_result_id
    assert enqueued.kwargs == {"steps": 3, "delay": 0, "notifications_run": str(run.pk)}
    assert event_types(run) == ["task.queued"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"task": "notifications.tasks.demo.reply"},
        {"task": "os.system", "arguments": {"command": "true"}},
        {"task": CRUNCH, "arguments": [3]},
        {"task": CRUNCH, "arguments": "steps=3"},
        {"task": CRUNCH, "arguments": {"unknown": 1}},
        {"task": WRITE, "arguments": {"topic": "x"}},
    ],
)
def test_anything_but_a_startable_task_and_its_arguments_is_400(alice, body):
    response = client_for(alice).post("/api/tasks/", body, format="json")
    assert response.status_code == 400
    assert not TaskRun.objects.exists()


def test_anonymous_requests_are_401(alice):
    run = queued_run(alice)
    client = client_for()
    assert client.get("/api/tasks/").status_code == 401
    assert client.post("/api/tasks/", {"task": CRUNCH}, format="json").status_code == 401
    assert client.get(f"/api/tasks/{run.pk}/").status_code == 401
    assert client.post(f"/api/tasks/{run.pk}/cancel/").status_code == 401
    assert not TaskRun.objects.exclude(pk=run.pk).exists()


def test_another_users_run_and_an_unknown_run_are_404(alice, bob):
    run = queued_run(alice)
    assert client_for(alice).get(f"/api/tasks/{run.pk}/").status_code == 200
    assert client_for(bob).get(f"/api/tasks/{run.pk}/").status_code == 404
    assert client_for(alice).get(f"/api/tasks/{uuid.uuid4()}/").status_code == 404


def test_a_failure_shows_its_traceback_to_staff_only(alice, staff):
    run = failed_run(alice)
    mine = client_for(alice).get(f"/api/tasks/{run.pk}/").json()
    assert mine["status"] == "failed" and mine["reason"] == "exception"
    assert mine["error"] == {"type": "ValueError", "message": "it broke"}
    assert "traceback" not in mine
    seen_by_staff = client_for(staff).get(f"/api/tasks/{run.pk}/").json()
    assert seen_by_staff["traceback"].endswith("ValueError: it broke\n")


def test_cancelling_a_queued_run_ends_it_with_its_terminal_event(alice):
    run = queued_run(alice)
    response = client_for(alice).post(f"/api/tasks/{run.pk}/cancel/")
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled" and response.json()["finished_at"]
    assert event_types(run) == ["task.queued", "task.cancelled"]
    again = client_for(alice).post(f"/api/tasks/{run.pk}/cancel/")
    assert again.status_code == 202 and event_types(run) == ["task.queued", "task.cancelled"]


def test_cancelling_a_running_run_asks_it_to_stop(alice):
    run = running_run(alice)
    response = client_for(alice).post(f"/api/tasks/{run.pk}/cancel/")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "running" and body["cancel_requested_at"]
    assert event_types(run)[-1] == "task.cancelling"


def test_cancelling_a_run_that_succeeded_is_409_with_the_run(alice):
    run = running_run(alice)
    lifecycle.finish(str(run.pk), Status.SUCCEEDED, result={"steps": 3})
    response = client_for(alice).post(f"/api/tasks/{run.pk}/cancel/")
    assert response.status_code == 409
    assert response.json()["status"] == "succeeded"
    assert response.json()["result"] == {"steps": 3}


def test_cancelling_another_users_run_is_404_and_changes_nothing(alice, bob):
    run = queued_run(alice)
    assert client_for(bob).post(f"/api/tasks/{run.pk}/cancel/").status_code == 404
    run.refresh_from_db()
    assert run.status == Status.QUEUED and run.cancel_requested_at is None


def test_the_schema_describes_the_task_endpoints():
    response = client_for().get("/api/schema/")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    operations = {
        (path, method): operation["operationId"]
        for path, methods in paths.items()
        for method, operation in methods.items()
        if path.startswith("/api/tasks/")
    }
    assert operations == {
        ("/api/tasks/", "get"): "listTaskRuns",
        ("/api/tasks/", "post"): "createTaskRun",
        ("/api/tasks/{run_id}/", "get"): "retrieveTaskRun",
        ("/api/tasks/{run_id}/cancel/", "post"): "cancelTaskRun",
    }
    assert set(paths["/api/tasks/{run_id}/cancel/"]["post"]["responses"]) == {"202", "409"}
    start = schema["components"]["schemas"]["StartTaskRun"]["properties"]
    assert start["task"]["enum"] == [CRUNCH, WRITE]
    run = schema["components"]["schemas"]["TaskRun"]["properties"]
    assert {"stream", "events_url", "ui_stream_url", "progress", "error", "traceback"} <= set(run)
