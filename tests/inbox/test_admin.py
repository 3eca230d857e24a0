import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.inbox.api import notify
from notifications.log import Event
from notifications.models import Notification
from tests.tasks.conftest import TASKS_API

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:notifications_notification_changelist")


@pytest.fixture
def ann(django_user_model):
    return django_user_model.objects.create_user("ann")


def queries_for_list(client):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(captured.captured_queries), response


def test_the_list_takes_as_many_queries_for_fifty_rows_as_for_two(admin_client, admin_user, ann):
    notify(ann, "one", actor=admin_user, target=ann)
    notify(ann, "two", actor=ann)
    few, response = queries_for_list(admin_client)
    assert len(response.context["cl"].result_list) == 2
    for n in range(48):
        notify(ann, f"n{n}", actor=admin_user if n % 2 else ann, target=ann)
    many, response = queries_for_list(admin_client)
    assert len(response.context["cl"].result_list) == 50
    assert many == few


def test_search_and_the_read_actions(admin_client, admin_user, ann):
    notify(ann, "commented", actor=admin_user)
    notify(ann, "liked", actor=admin_user)
    response = admin_client.get(CHANGELIST, {"q": "liked"})
    [found] = response.context["cl"].result_list
    assert found.verb == "liked"
    response = admin_client.post(
        CHANGELIST,
        {"action": "mark_read", "_selected_action": [found.pk]},
        follow=True,
    )
    assert response.status_code == 200
    found.refresh_from_db()
    assert found.unread is False
    last = Event.objects.filter(stream=f"user:{ann.pk}").order_by("-seq").first()
    assert (last.type, last.data) == ("notification.read_all", {"unread_count": 1})


USERS = reverse("admin:auth_user_changelist")
GROUPS = reverse("admin:auth_group_changelist")


def send(client, changelist, action, selected, **fields):
    data = {"action": action, "_selected_action": [obj.pk for obj in selected]}
    page = client.post(changelist, data)
    assert page.status_code == 200
    assert b"Send notification" in page.content
    return client.post(changelist, {**data, "send": "1", **fields}, follow=True)


def test_staff_send_a_notification_to_selected_users_from_their_admin(admin_client, ann):
    bob = type(ann).objects.create_user("bob")
    type(ann).objects.create_user("cid")
    response = send(
        admin_client,
        USERS,
        "notify_users",
        [ann, bob],
        verb="The office is closed on Friday",
        level="warning",
        url="/news/1/",
    )
    assert "Notified 2 users." in [str(m) for m in response.context["messages"]]
    sent = {n.recipient.username: n for n in Notification.objects.select_related("recipient")}
    assert sorted(sent) == ["ann", "bob"]
    assert sent["bob"].level == "warning" and sent["bob"].data == {"url": "/news/1/"}
    assert sent["bob"].actor.username == "admin"


def test_a_group_is_sent_to_its_members_and_a_large_audience_in_the_background(
    admin_client, ann, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from django.contrib.auth.models import Group

    from notifications.inbox import admin as inbox_admin
    from notifications.tasks.models import TaskRun

    settings.TASKS = {"default": {"BACKEND": f"{TASKS_API}.backends.immediate.ImmediateBackend"}}
    team = Group.objects.create(name="team")
    members = [type(ann).objects.create_user(f"m{n}") for n in range(3)]
    team.user_set.add(*members)
    monkeypatch.setattr(inbox_admin, "SEND_NOW_UP_TO", 2)
    with django_capture_on_commit_callbacks(execute=True):
        response = send(
            admin_client, GROUPS, "notify_groups", [team], verb="Standup moved", level="info"
        )
    run = TaskRun.objects.get()
    assert response.redirect_chain[-1][0] == reverse(
        "admin:notifications_taskrun_change", args=[run.pk]
    )
    assert (run.status, run.result) == ("succeeded", {"recipients": 3})
    assert sorted(Notification.objects.values_list("recipient__username", flat=True)) == [
        "m0",
        "m1",
        "m2",
    ]


def test_without_the_add_permission_nothing_is_sent(client, ann, django_user_model):
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_user"))
    clerk.user_permissions.add(Permission.objects.get(codename="change_user"))
    client.force_login(clerk)
    response = client.post(
        USERS, {"action": "notify_users", "_selected_action": [ann.pk]}, follow=True
    )
    assert "You may not send notifications." in [str(m) for m in response.context["messages"]]
    assert not Notification.objects.exists()
