import pytest
from django.test import Client
from django.urls import reverse

from notifications.inbox.api import notify
from notifications.log import Event
from notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(django_user_model):
    return django_user_model.objects.create_user("ann", password="pw")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="pw")


@pytest.fixture
def as_bob(bob):
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture
def get_actions(settings):
    settings.NOTIFICATIONS = {"INBOX_GET_ACTIONS": True}


def url(name, notification=None):
    args = [notification.slug] if notification is not None else []
    return reverse(f"notifications:{name}", args=args)


def test_the_pages_list_only_the_users_own_notifications(ann, bob, as_bob):
    notify(bob, "for bob", actor=ann)
    notify(ann, "for ann", actor=bob)
    response = as_bob.get(url("all"))
    assert [n.verb for n in response.context["notifications"]] == ["for bob"]
    assert b"for bob" in response.content and b"for ann" not in response.content
    assert [n.verb for n in as_bob.get(url("unread")).context["notifications"]] == ["for bob"]
    anonymous = Client().get(url("all"))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


@pytest.mark.parametrize("name", ["mark_as_read", "mark_as_unread", "delete"])
def test_state_changes_take_post_with_csrf_and_refuse_get(bob, name):
    notify(bob, "x")
    notification = bob.notifications.get()
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    assert client.get(url(name, notification)).status_code == 405
    assert client.post(url(name, notification)).status_code == 403
    page = client.get(url("all"))
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else None
    response = client.post(url(name, notification), {"csrfmiddlewaretoken": token or ""})
    assert response.status_code == 302


def test_a_post_marks_read_and_unread_and_the_get_links_work_when_allowed(bob, as_bob, get_actions):
    notify(bob, "x")
    notification = bob.notifications.get()
    assert as_bob.get(url("mark_as_read", notification)).status_code == 302
    notification.refresh_from_db()
    assert notification.unread is False
    response = as_bob.get(url("mark_as_unread", notification), {"next": "/somewhere/?a=1&b=2"})
    assert response["Location"] == "/somewhere/?a=1&b=2"
    notification.refresh_from_db()
    assert notification.unread is True
    response = as_bob.post(url("mark_all_as_read") + "?next=https://evil.example/")
    assert response["Location"] == url("unread")
    assert bob.notifications.unread().count() == 0


def test_nobody_changes_another_users_notification(ann, bob, as_bob):
    notify(ann, "x")
    notification = ann.notifications.get()
    for name in ("mark_as_read", "delete"):
        assert as_bob.post(url(name, notification)).status_code == 404
    notification.refresh_from_db()
    assert notification.unread is True
    assert not Event.objects.filter(stream=f"user:{bob.pk}").exists()


def test_delete_removes_it_or_marks_it_deleted_and_pushes_the_count(bob, as_bob, settings):
    notify(bob, "one")
    notify(bob, "two")
    first, second = bob.notifications.order_by("pk")
    assert as_bob.post(url("delete", first))["Location"] == url("all")
    assert not Notification.objects.filter(pk=first.pk).exists()
    last = Event.objects.filter(stream=f"user:{bob.pk}").order_by("-seq").first()
    assert (last.type, last.data["unread_count"]) == ("notification.deleted", 1)
    settings.DJANGO_NOTIFICATIONS_CONFIG = {"SOFT_DELETE": True}
    as_bob.post(url("delete", second))
    second.refresh_from_db()
    assert second.deleted is True
    assert as_bob.get(url("live_unread_notification_count")).json() == {"unread_count": 0}


def test_the_json_endpoints_keep_their_shapes_and_count_only_the_users_own(ann, bob, as_bob):
    for n in range(3):
        notify(bob, f"n{n}", actor=ann, url=f"/n/{n}/")
    notify(ann, "not bob's")
    assert as_bob.get(url("live_unread_notification_count")).json() == {"unread_count": 3}
    assert as_bob.get(url("live_all_notification_count")).json() == {"all_count": 3}
    listed = as_bob.get(url("live_unread_notification_list"), {"max": 2}).json()
    assert sorted(listed) == ["unread_count", "unread_list"]
    assert listed["unread_count"] == 3
    assert [item["verb"] for item in listed["unread_list"]] == ["n2", "n1"]
    item = listed["unread_list"][0]
    assert item["slug"] == item["id"] + 110909
    assert (item["actor"], item["data"]) == ("ann", {"url": "/n/2/"})
    everything = as_bob.get(url("live_all_notification_list")).json()
    assert (everything["all_count"], len(everything["all_list"])) == (3, 3)
    assert Client().post(url("live_unread_notification_list")).json() == {
        "unread_count": 0,
        "unread_list": [],
    }


def test_the_list_marks_what_it_returns_read_on_post_or_an_allowed_get(bob, as_bob, settings):
    for n in range(4):
        notify(bob, f"n{n}")
    listed = url("live_unread_notification_list")
    assert as_bob.get(listed, {"max": 2, "mark_as_read": "1"}).json()["unread_count"] == 4
    response = as_bob.post(f"{listed}?max=2&mark_as_read=1").json()
    assert (response["unread_count"], len(response["unread_list"])) == (2, 2)
    settings.NOTIFICATIONS = {"INBOX_GET_ACTIONS": True}
    assert as_bob.get(listed, {"max": 1, "mark_as_read": "1"}).json()["unread_count"] == 1


def test_the_pages_the_count_and_the_lists_take_as_many_queries_for_a_big_inbox(ann, bob, as_bob):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        counts = []
        for name in (
            "all",
            "unread",
            "live_unread_notification_count",
            "live_unread_notification_list",
            "live_all_notification_list",
        ):
            with CaptureQueriesContext(connection) as captured:
                assert as_bob.get(url(name), {"max": 50}).status_code == 200
            counts.append(len(captured.captured_queries))
        return counts

    def send(count):
        for n in range(count):
            notify(bob, f"n{n}", actor=ann if n % 2 else bob, target=ann, action_object=bob)

    send(3)
    small = queries()
    send(60)
    assert queries() == small
