import pytest
from rest_framework.test import APIClient

from notifications.inbox.api import notify
from notifications.log import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(django_user_model):
    return django_user_model.objects.create_user("ann")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob")


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_the_inbox_is_mine_newest_first_a_page_at_a_time(ann, bob):
    for n in range(5):
        notify(bob, f"n{n}", actor=ann, url=f"/{n}/")
    notify(ann, "not bob's")
    client = client_for(bob)
    first = client.get("/api/notifications/", {"limit": 3}).json()
    assert [item["verb"] for item in first["results"]] == ["n4", "n3", "n2"]
    assert first["results"][0]["actor"] == "ann"
    assert first["results"][0]["data"] == {"url": "/4/"}
    second = client.get(first["next"]).json()
    assert [item["verb"] for item in second["results"]] == ["n1", "n0"]
    assert second["next"] is None
    assert client_for().get("/api/notifications/").status_code == 401


def test_marking_and_counting_through_the_api_pushes_the_count(ann, bob):
    notify(bob, "a")
    notify(bob, "b")
    client = client_for(bob)
    first = bob.notifications.get(verb="a")
    assert client.get("/api/notifications/unread-count/").json() == {"unread_count": 2}
    read = client.post(f"/api/notifications/{first.pk}/read/").json()
    assert (read["unread"], read["read_at"] is not None) == (False, True)
    assert [n["verb"] for n in client.get("/api/notifications/?unread=true").json()["results"]] == [
        "b"
    ]
    assert [
        n["verb"] for n in client.get("/api/notifications/?unread=false").json()["results"]
    ] == ["a"]
    assert client.post(f"/api/notifications/{first.pk}/unread/").json()["unread"] is True
    assert client.post("/api/notifications/read-all/").json() == {"unread_count": 0}
    last = Event.objects.filter(stream=f"user:{bob.pk}").order_by("-seq").first()
    assert (last.type, last.data) == ("notification.read_all", {"unread_count": 0})
    assert client.delete(f"/api/notifications/{first.pk}/").status_code == 204
    assert list(bob.notifications.values_list("verb", flat=True)) == ["b"]


def test_another_users_notification_is_404_and_stays_as_it_was(ann, bob):
    notify(ann, "private")
    theirs = ann.notifications.get()
    client = client_for(bob)
    assert client.post(f"/api/notifications/{theirs.pk}/read/").status_code == 404
    assert client.delete(f"/api/notifications/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.unread is True


def test_the_schema_describes_the_inbox_endpoints():
    paths = client_for().get("/api/schema/").json()["paths"]
    assert {
        "/api/notifications/",
        "/api/notifications/unread-count/",
        "/api/notifications/read-all/",
        "/api/notifications/{id}/",
        "/api/notifications/{id}/read/",
        "/api/notifications/{id}/unread/",
    } <= set(paths)
    assert "unread" in {p["name"] for p in paths["/api/notifications/"]["get"]["parameters"]}
