import httpx
import pytest
from rest_framework.test import APIClient

from notifications.api import publish
from notifications.models import Event, Stream
from tests.clients import CSRF

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


@pytest.mark.parametrize(
    "data",
    [r'{"text": "nul \u0000 inside"}', r'{"key\u0000": 1}', r'["lone \ud800"]', r'"\udfff"'],
)
def test_data_no_database_can_store_is_a_400_that_says_why(staff, data):
    response = client_for(staff).post(
        "/api/streams/broadcast/events/",
        '{"event": "x", "data": ' + data + "}",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "NUL" in response.json()["data"][0]
    assert not Event.objects.exists()


def test_a_body_over_the_publish_limit_is_a_413_in_json(staff, settings):
    settings.NOTIFICATIONS = {"MAX_PUBLISH_BYTES": 1000}
    small = {"event": "x", "data": "y" * 500}
    large = {"event": "x", "data": "y" * 2000}
    assert (
        client_for(staff).post("/api/streams/broadcast/events/", small, format="json").status_code
        == 201
    )
    response = client_for(staff).post("/api/streams/broadcast/events/", large, format="json")
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["detail"]
    assert Event.objects.count() == 1


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
async def test_bad_publish_bodies_over_a_real_server_answer_in_json(daphne, make_user):
    _, staff_session = await make_user("staff", is_staff=True)
    server = daphne(NOTIFICATIONS_MAX_PUBLISH_BYTES="4096")
    cookies = {"sessionid": staff_session, "csrftoken": CSRF}
    headers = {"X-CSRFToken": CSRF, "Content-Type": "application/json"}
    url = f"{server.http}/api/streams/broadcast/events/"
    async with httpx.AsyncClient(cookies=cookies, headers=headers) as http:
        nul = await http.post(url, content=b'{"event": "x", "data": "a\\u0000b"}')
        surrogate = await http.post(url, content=b'{"event": "x", "data": "\\ud83d"}')
        large = await http.post(url, content=b'{"event": "x", "data": "' + b"y" * 5000 + b'"}')
        fine = await http.post(url, content=b'{"event": "x", "data": "ok"}')
    assert (nul.status_code, surrogate.status_code, large.status_code) == (400, 400, 413)
    assert all(r.headers["content-type"] == "application/json" for r in (nul, surrogate, large))
    assert fine.status_code == 201 and fine.json()["seq"] == 1
