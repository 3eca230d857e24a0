import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from notifications.log import prune_events
from notifications.tasks import lifecycle
from notifications.templatetags import live_tasks

pytestmark = pytest.mark.django_db

TASK = "notifications.tasks.demo.crunch_numbers"


def render(source, user, **context):
    request = RequestFactory().get("/")
    request.user = user
    template = Template("{% load live_tasks %}" + source)
    return template.render(Context({"request": request, **context}))


def attributes(html, css_class):
    """The attributes of the first element of `html` with class `css_class`; boolean ones map
    to ''."""
    opening = re.search(rf'<\w+((?:\s[^>]*)?\sclass="{css_class}"[^>]*)>', html)
    assert opening is not None, html
    return {
        name: value or ""
        for name, value in re.findall(r'([\w-]+)(?:="([^"]*)")?', opening.group(1))
    }


def text_of(html, css_class):
    found = re.search(rf'class="{css_class}"[^>]*>([^<]*)<', html)
    assert found is not None, html
    return found.group(1)


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice")


def queued_run(owner):
    return lifecycle.create_run(TASK, (), {"steps": 4}, owner=owner)


def running_run(owner, *, progress=None, outputs=()):
    run = queued_run(owner)
    lifecycle.begin(str(run.pk))
    if progress is not None or outputs:
        lifecycle.record(str(run.pk), progress, list(outputs))
    return run


def test_a_running_runs_bar_shows_its_percentage_message_and_status(alice):
    run = running_run(alice, progress=lifecycle.Progress(3, 4, "Step 3 of 4"))
    html = render("{% task_progress run %}", alice, run=run)
    box = attributes(html, "live-task")
    assert box == {
        "class": "live-task",
        "data-live-task": str(run.pk),
        "data-since": "3",
        "data-status": "running",
    }
    bar = attributes(html, "live-task-bar")
    assert bar["role"] == "progressbar"
    assert bar["aria-valuenow"] == "75"
    assert (bar["aria-valuemin"], bar["aria-valuemax"]) == ("0", "100")
    assert bar["aria-valuetext"] == "75%, Step 3 of 4"
    assert bar["aria-label"] == "Crunch numbers"
    assert attributes(html, "live-task-meter") == {
        "class": "live-task-meter",
        "max": "100",
        "value": "75",
        "aria-hidden": "true",
    }
    assert text_of(html, "live-task-status") == "Running"
    assert attributes(html, "live-task-status")["role"] == "status"
    assert text_of(html, "live-task-percent") == "75%"
    assert text_of(html, "live-task-message") == "Step 3 of 4"


def test_a_run_without_progress_has_an_indeterminate_bar_until_it_ends(alice):
    run = queued_run(alice)
    html = render("{% task_progress run 'Export' %}", alice, run=run)
    bar = attributes(html, "live-task-bar")
    assert "aria-valuenow" not in bar
    assert bar["aria-valuetext"] == "Queued" and bar["aria-label"] == "Export"
    assert "value" not in attributes(html, "live-task-meter")
    assert text_of(html, "live-task-percent") == ""

    lifecycle.begin(str(run.pk))
    lifecycle.finish(str(run.pk), "succeeded", result=None)
    done = render("{% task_progress run %}", alice, run=run)
    assert attributes(done, "live-task")["data-status"] == "succeeded"
    assert attributes(done, "live-task-meter")["value"] == "100"
    assert text_of(done, "live-task-percent") == "100%"

    failed = running_run(alice)
    lifecycle.fail(str(failed.pk), "worker_lost", "WorkerLost", "gone")
    html = render("{% task_progress run %}", alice, run=failed)
    assert attributes(html, "live-task-meter")["value"] == "0"
    assert "aria-valuenow" not in attributes(html, "live-task-bar")
    assert text_of(html, "live-task-status") == "Failed"


def test_percent_is_never_100_before_the_end(alice):
    run = running_run(alice, progress=lifecycle.Progress(999, 1000, None))
    assert text_of(render("{% task_progress run %}", alice, run=run), "live-task-percent") == "99%"


def test_a_running_run_asked_to_stop_is_cancelling(alice):
    run = running_run(alice)
    lifecycle.request_cancel(run)
    html = render("{% task_progress run %}", alice, run=run)
    assert attributes(html, "live-task")["data-status"] == "cancelling"
    assert attributes(html, "live-task")["data-since"] == "3"
    assert text_of(html, "live-task-status") == "Cancelling"


def test_the_message_is_escaped(alice):
    run = running_run(alice, progress=lifecycle.Progress(1, 2, "<img src=x>"))
    html = render("{% task_progress run %}", alice, run=run)
    assert "<img" not in html and "&lt;img src=x&gt;" in html


def test_the_seq_is_read_before_the_run_so_no_change_falls_between(alice, monkeypatch):
    run = running_run(alice, progress=lifecycle.Progress(1, 4, "first"))
    read = live_tasks.readable_run

    def changed_meanwhile(user, run_id):
        lifecycle.record(str(run_id), lifecycle.Progress(2, 4, "second"), ["late\n"])
        return read(user, run_id)

    monkeypatch.setattr(live_tasks, "readable_run", changed_meanwhile)
    html = render("{% task_progress run %}", alice, run=run)
    assert attributes(html, "live-task")["data-since"] == "3"
    assert text_of(html, "live-task-message") == "second"


@pytest.mark.parametrize("reader", ["bob", "anonymous"])
def test_a_run_the_user_may_not_read_renders_nothing(alice, django_user_model, reader):
    user = django_user_model.objects.create_user("bob") if reader == "bob" else AnonymousUser()
    run = running_run(alice, outputs=["secret\n"])
    source = "{% task_progress run %}{% task_output run %}{% task_state run as state %}{{ state }}"
    assert render(source, user, run=run) == "None"
    assert render("{% task_progress 'not-a-uuid' %}{% task_output '' %}", alice) == ""


def test_staff_see_any_run(alice, django_user_model):
    staff = django_user_model.objects.create_user("admin", is_staff=True)
    run = running_run(alice, outputs=["one\n"])
    html = render("{% task_progress run %}{% task_output run %}", staff, run=run)
    assert 'data-live-task="' in html and "one\n</pre>" in html


def test_the_output_so_far_is_one_pre_with_its_own_cursor(alice, settings):
    settings.NOTIFICATIONS = {"REPLAY_PAGE_SIZE": 2}
    run = running_run(alice, outputs=["<b>one</b>\n", "two\n", "three\n"])
    lifecycle.record(str(run.pk), lifecycle.Progress(1, 4, None), ["four\n", "five\n"])
    html = render("{% task_output run %}", alice, run=str(run.pk))
    assert attributes(html, "live-task-output") == {
        "class": "live-task-output",
        "data-live-task-output": str(run.pk),
        "data-since": "8",
        "tabindex": "0",
        "aria-label": "Output",
    }
    assert html.endswith(">&lt;b&gt;one&lt;/b&gt;\ntwo\nthree\nfour\nfive\n</pre>")


def test_the_output_of_a_finished_run_says_so(alice):
    run = running_run(alice, outputs=["one\n"])
    lifecycle.finish(str(run.pk), "succeeded", texts=["two\n"], result=2)
    html = render("{% task_output run 'Log' %}", alice, run=run)
    pre = attributes(html, "live-task-output")
    assert "data-finished" in pre and pre["aria-label"] == "Log" and pre["data-since"] == "5"
    assert "one\ntwo\n</pre>" in html


def test_output_whose_start_is_no_longer_kept_is_marked_incomplete(alice):
    run = running_run(alice, outputs=["old\n"])
    prune_events(timezone.now() + timedelta(seconds=1), run.stream)
    lifecycle.record(str(run.pk), None, ["new\n"])
    html = render("{% task_output run %}", alice, run=run)
    assert "data-incomplete" in attributes(html, "live-task-output")
    assert ">new\n</pre>" in html


def test_task_state_reads_once_for_the_bar_and_the_page(alice):
    run = running_run(alice, progress=lifecycle.Progress(1, 2, "half"))
    source = (
        "{% task_state run as state %}{{ state.status }} {{ state.label }} {{ state.percent }} "
        "{{ state.seq }} {{ state.is_finished }}{% task_progress state %}"
    )
    html = render(source, alice, run=run.pk)
    assert html.startswith("running Running 50 3 False<div")
    assert attributes(html, "live-task")["data-since"] == "3"


def test_the_script_tag_takes_the_csp_nonce():
    request = RequestFactory().get("/")
    request.csp_nonce = "n0nce"
    html = Template("{% load live_tasks %}{% task_script %}").render(Context({"request": request}))
    assert html == '<script nonce="n0nce" src="/static/notifications/tasks.js"></script>'
    assert render("{% task_script %}", AnonymousUser()) == (
        '<script src="/static/notifications/tasks.js"></script>'
    )
