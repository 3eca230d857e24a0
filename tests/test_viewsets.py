import pytest
from rest_framework.test import APIClient

from notifications.api import publish
from notifications.models import Event, Stream

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", is_staff=True)


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_history_after_a_cursor_in_the_wire_shape(alice):
    stream = f"user:{alice.pk}"
    for n in range(5):
        publish(stream, "note", {"n": n})
    Stream.objects.filter(key=stream).update(pruned_seq=1)
    response = client_for(alice).get(f"/api/streams/{stream}/events/?since=2&limit=2")
    assert response.status_code == 200
    body = response.json()
    assert (body["stream"], body["head"], body["pruned"]) == (stream, 5, 1)
    assert [e["seq"] for e in body["events"]] == [3, 4]
    first = body["events"][0]
    assert set(first) == {"type", "stream", "seq", "event", "data", "at"}
    assert (first["type"], first["event"], first["data"]) == ("event", "note", {"n": 2})


@pytest.mark.parametrize(
    ("path", "who", "status"),
    [
        ("broadcast", None, 403),
        ("user:999", "alice", 403),
        ("Bad Key", "alice", 404),
        ("broadcast", "alice", 200),
    ],
)
def test_history_is_authorized_like_the_stream(alice, path, who, status):
    response = client_for(alice if who else None).get(f"/api/streams/{path}/events/")
    assert response.status_code == status


@pytest.mark.parametrize("query", ["since=-1", "since=x", "limit=0", "limit=1001"])
def test_bad_history_queries_are_400(alice, query):
    assert client_for(alice).get(f"/api/streams/broadcast/events/?{query}").status_code == 400


def test_staff_publish_and_others_are_refused(alice, staff):
    url = "/api/streams/broadcast/events/"
    assert client_for(alice).post(url, {"event": "x"}, format="json").status_code == 403
    assert client_for().post(url, {"event": "x"}, format="json").status_code == 403
    response = client_for(staff).post(
        url, {"event": "announcement", "data": {"a": [1]}}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["seq"] == 1 and response.json()["data"] == {"a": [1]}
    ephemeral = client_for(staff).post(url, {"event": "typing", "persist": False}, format="json")
    assert ephemeral.status_code == 201 and ephemeral.json()["seq"] is None
    assert Event.objects.count() == 1


@pytest.mark.parametrize(
    "body", [{}, {"event": "bad type!"}, {"event": "x" * 101}, {"event": "ok", "persist": "maybe"}]
)
def test_invalid_publish_bodies_are_400_and_store_nothing(staff, body):
    response = client_for(staff).post("/api/streams/broadcast/events/", body, format="json")
    assert response.status_code == 400
    assert not Event.objects.exists()
