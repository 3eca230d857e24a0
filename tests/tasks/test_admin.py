import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from notifications.log import Event
from notifications.tasks import lifecycle
from notifications.tasks.models import TaskRun

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued_tasks")]

Status = TaskRun.Status
CHANGELIST = reverse("admin:notifications_taskrun_changelist")
START_DEMO = reverse("admin:notifications_taskrun_start_demo")


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice")


def run_of(owner, task="tests.tasks.jobs.steps", topic=""):
    return lifecycle.create_run(task, (3, 0.0), {}, owner=owner, topic=topic)


def change_url(run):
    return reverse("admin:notifications_taskrun_change", args=[run.pk])


def shown(response):
    return {run.pk for run in response.context["cl"].result_list}


def test_the_list_loads_with_its_filters_and_the_demo_button(admin_client, alice):
    run = run_of(alice)
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert shown(response) == {run.pk}
    titles = {spec.title for spec in response.context["cl"].filter_specs}
    assert {"status", "task name", "failure reason", "created at"} <= titles
    content = response.content.decode()
    assert str(run.pk)[:8] in content
    assert f'action="{START_DEMO}"' in content and "csrfmiddlewaretoken" in content


def test_filters_and_search_find_runs(admin_client, alice, django_user_model):
    bob = django_user_model.objects.create_user("bob")
    alices = run_of(alice, topic="chat-7")
    bobs = run_of(bob, task="tests.tasks.jobs.fail")
    lifecycle.request_cancel(bobs)
    assert shown(admin_client.get(CHANGELIST, {"status__exact": "cancelled"})) == {bobs.pk}
    for query, found in [
        ("bob", {bobs.pk}),
        ("jobs.fail", {bobs.pk}),
        ("chat-7", {alices.pk}),
        (str(alices.pk), {alices.pk}),
        (str(alices.pk)[:8], {alices.pk}),
    ]:
        assert shown(admin_client.get(CHANGELIST, {"q": query})) == found, query


def test_the_cancel_action_cancels_and_reports_how_many(admin_client, alice):
    queued, running, done = run_of(alice), run_of(alice), run_of(alice)
    lifecycle.begin(str(running.pk))
    lifecycle.begin(str(done.pk))
    lifecycle.finish(str(done.pk), Status.SUCCEEDED, result=None)
    response = admin_client.post(
        CHANGELIST,
        {"action": "cancel_runs", "_selected_action": [queued.pk, running.pk, done.pk]},
    )
    assert response.status_code == 302
    queued.refresh_from_db()
    running.refresh_from_db()
    assert queued.status == Status.CANCELLED
    assert running.status == Status.RUNNING and running.cancel_requested_at is not None
    assert Event.objects.filter(stream=queued.stream, type="task.cancelled").exists()
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert message == "Runs: 1 cancelled, 1 asked to stop, 1 already finished."


def test_the_demo_button_starts_a_run_of_the_clicking_user_and_shows_it(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(START_DEMO)
    run = TaskRun.objects.get()
    assert run.owner == admin_user
    assert run.task_name == "notifications.tasks.demo.crunch_numbers"
    assert run.status == Status.QUEUED and run.backend_result_id
    assert response.status_code == 302 and response.url == change_url(run)
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "crunch numbers" in message
    assert admin_client.get(START_DEMO).status_code == 405


def test_the_demo_button_needs_the_csrf_token(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(START_DEMO).status_code == 403
    assert not TaskRun.objects.exists()


def test_staff_without_the_change_permission_cannot_start_or_cancel(alice, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(*permissions("view_taskrun"))
    client = Client()
    client.force_login(viewer)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert START_DEMO not in response.content.decode()
    assert "cancel_runs" not in response.content.decode()
    assert client.post(START_DEMO).status_code == 403
    assert not TaskRun.objects.exists()


def test_people_who_are_not_staff_are_sent_to_log_in(alice):
    client = Client()
    client.force_login(alice)
    for response in (client.get(CHANGELIST), client.post(START_DEMO)):
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
    assert not TaskRun.objects.exists()


def test_the_change_page_shows_the_traceback_and_links_to_the_events(admin_client, alice):
    run = run_of(alice)
    lifecycle.begin(str(run.pk))
    lifecycle.finish(
        str(run.pk), Status.FAILED, error=ValueError("it broke"), traceback="Traceback <here>"
    )
    response = admin_client.get(change_url(run))
    assert response.status_code == 200
    content = response.content.decode()
    assert "<pre>Traceback &lt;here&gt;</pre>" in content
    log = reverse("admin:notifications_event_changelist") + f"?stream=task%3A{run.pk}"
    assert f'href="{log}"' in content
    assert f'href="/live/tasks/{run.pk}/events/"' in content
    assert 'name="_save"' not in content
    events = admin_client.get(log)
    assert events.status_code == 200
    assert {event.type for event in events.context["cl"].result_list} == {
        "task.queued",
        "task.started",
        "task.failed",
    }


def test_runs_are_not_added_by_hand(admin_client):
    assert admin_client.get(reverse("admin:notifications_taskrun_add")).status_code == 403


def permissions(*codenames):
    return Permission.objects.filter(
        content_type__app_label="notifications", codename__in=codenames
    )
