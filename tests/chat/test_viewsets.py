import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.chat import api
from notifications.chat.limits import send_buckets
from notifications.log import Event
from notifications.models import Membership, Message, Room
from notifications.policy import StreamPolicy
from tests.chat.test_consumers import XSS, join, send, socket_of
from tests.clients import open_socket
from tests.test_viewsets import client_for

pytestmark = pytest.mark.django_db

ROOMS = "/api/chat/rooms/"


class NoLobbyPolicy(StreamPolicy):
    def can_read_room(self, user, name):
        return name != "lobby"


@pytest.fixture(autouse=True)
def fresh_allowances():
    send_buckets.clear()
    yield
    send_buckets.clear()


@pytest.fixture
def ann(django_user_model):
    return django_user_model.objects.create_user("ann")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob")


@pytest.fixture
def cid(django_user_model):
    return django_user_model.objects.create_user("cid")


@pytest.fixture
def lobby():
    return Room.objects.create(slug="lobby", name="Lobby")


@pytest.fixture
def secret(ann):
    room = Room.objects.create(slug="secret", name="Secret", is_private=True)
    Membership.objects.create(room=room, user=ann, role=Membership.Role.OWNER)
    return room


def messages_url(room, pk=None):
    slug = room if isinstance(room, str) else room.slug
    return f"{ROOMS}{slug}/messages/" + ("" if pk is None else f"{pk}/")


def post(user, room, body, client_id=None):
    data = {"body": body} if client_id is None else {"body": body, "client_id": client_id}
    return client_for(user).post(messages_url(room), data, format="json")


def listed(user):
    return {room["slug"]: room for room in client_for(user).get(ROOMS).json()["results"]}


def test_my_rooms_are_the_ones_i_may_read_with_my_unread_counts(ann, bob, cid, lobby, secret):
    dm, _ = api.start_direct(ann, cid)
    first = post(ann, lobby, "one").json()
    post(ann, lobby, "two")
    post(ann, lobby, "three")
    post(bob, lobby, "mine")
    rooms = listed(bob)
    assert set(rooms) == {"lobby"}
    assert rooms["lobby"] | {"created_at": None} == {
        "slug": "lobby",
        "name": "Lobby",
        "kind": "room",
        "is_private": False,
        "stream": "room:lobby",
        "head": 4,
        "read_seq": 0,
        "unread": 3,
        "members": 2,
        "created_at": None,
        "with": None,
    }
    client_for(bob).post(f"{ROOMS}lobby/read/", {"seq": first["seq"]}, format="json")
    assert listed(bob)["lobby"]["unread"] == 2
    assert client_for(bob).get(f"{ROOMS}lobby/").json() == listed(bob)["lobby"]
    mine = listed(ann)
    assert set(mine) == {"lobby", "secret", dm.slug}
    assert mine["lobby"]["unread"] == 1
    assert (mine[dm.slug]["kind"], mine[dm.slug]["with"]) == (
        "direct",
        {"id": cid.pk, "name": "cid"},
    )
    assert client_for().get(ROOMS).status_code == 401


def test_the_rooms_list_takes_as_many_queries_for_many_rooms(ann, bob, django_user_model):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client_for(ann).get(ROOMS, {"limit": 100})
        assert response.status_code == 200
        return len(response.json()["results"]), len(captured.captured_queries)

    def add_rooms(start, count):
        for n in range(start, start + count):
            room = api.create_room(bob, f"Room {n}", is_private=n % 2 == 0)
            Membership.objects.create(room=room, user=ann)
            api.post_message(room, bob, f"hello {n}")
            other = django_user_model.objects.create_user(f"friend{n}")
            api.post_message(api.start_direct(ann, other)[0], other, "hi")

    add_rooms(0, 2)
    small = queries()
    add_rooms(2, 20)
    large = queries()
    assert (small[0], large[0]) == (4, 44)
    assert large[1] == small[1]


def test_any_user_creates_a_room_and_owns_it(ann):
    client = client_for(ann)
    created = client.post(ROOMS, {"name": "Team Talk"}, format="json")
    assert created.status_code == 201
    assert (created.json()["slug"], created.json()["members"]) == ("team-talk", 1)
    again = client.post(ROOMS, {"name": "Team Talk", "is_private": True}, format="json").json()
    assert (again["slug"], again["is_private"]) == ("team-talk-2", True)
    named = client.post(ROOMS, {"name": "Anything", "slug": "my-place"}, format="json").json()
    assert named["slug"] == "my-place"
    for reserved in ("direct", "dm-1-2"):
        made = client.post(ROOMS, {"name": reserved}, format="json").json()
        assert (made["slug"], made["kind"]) == (f"{reserved}-2", "room")
    owner = Membership.objects.get(room__slug="team-talk")
    assert (owner.user, owner.role) == (ann, Membership.Role.OWNER)
    assert client.post(ROOMS, {"slug": "no-name"}, format="json").status_code == 400
    assert client.post(ROOMS, {"name": "x", "slug": "not a slug"}, format="json").status_code == 400
    assert client_for().post(ROOMS, {"name": "Anon"}, format="json").status_code == 401


def test_a_direct_conversation_is_one_per_pair_and_only_for_the_two(ann, bob, cid):
    low, high = sorted([ann.pk, bob.pk])
    started = client_for(ann).post(f"{ROOMS}direct/", {"user": "bob"}, format="json")
    assert started.status_code == 201
    room = started.json()
    assert (room["slug"], room["kind"], room["with"]) == (
        f"dm-{low}-{high}",
        "direct",
        {"id": bob.pk, "name": "bob"},
    )
    existing = client_for(bob).post(f"{ROOMS}direct/", {"user": ann.pk}, format="json")
    assert existing.status_code == 200
    assert (existing.json()["slug"], existing.json()["with"]["name"]) == (room["slug"], "ann")
    assert Room.objects.filter(kind=Room.Kind.DIRECT).count() == 1
    assert set(Membership.objects.values_list("user__username", flat=True)) == {"ann", "bob"}
    for user in ("nobody", str(ann.pk)):
        refused = client_for(ann).post(f"{ROOMS}direct/", {"user": user}, format="json")
        assert refused.status_code == 400 and "user" in refused.json()
    assert_hidden(cid, room["slug"])


def test_a_non_member_is_refused_a_private_room_as_if_it_did_not_exist(ann, bob, secret):
    post(ann, secret, "between us")
    assert_hidden(bob, "secret")
    assert [m["body"] for m in client_for(ann).get(messages_url(secret)).json()["results"]] == [
        "between us"
    ]


def assert_hidden(user, slug):
    client = client_for(user)
    stored = Message.objects.count()
    attempts = [
        ("get", f"{ROOMS}{{}}/", None),
        ("get", f"{ROOMS}{{}}/members/", None),
        ("get", f"{ROOMS}{{}}/messages/", None),
        ("post", f"{ROOMS}{{}}/messages/", {"body": "let me in"}),
        ("post", f"{ROOMS}{{}}/read/", {"seq": 1}),
        ("delete", f"{ROOMS}{{}}/messages/1/", None),
    ]
    for method, url, data in attempts:
        refused = getattr(client, method)(url.format(slug), data, format="json")
        missing = getattr(client, method)(url.format("no-such-room"), data, format="json")
        assert refused.status_code == missing.status_code == 404
        assert refused.json() == missing.json() == {"detail": "No such room."}
    assert slug not in listed(user)
    assert Message.objects.count() == stored
    assert not Membership.objects.filter(room__slug=slug, user=user).exists()


def test_the_stream_policy_decides_who_reads_a_room(ann, lobby, secret, settings):
    settings.NOTIFICATIONS = {"STREAM_POLICY": "tests.chat.test_viewsets.NoLobbyPolicy"}
    assert set(listed(ann)) == {"secret"}
    assert client_for(ann).get(f"{ROOMS}lobby/").status_code == 404
    assert post(ann, lobby, "hello").status_code == 404
    assert client_for(ann).get(f"{ROOMS}secret/").json()["name"] == "Secret"


def test_members_with_their_roles_and_read_markers(ann, bob, secret):
    Membership.objects.create(room=secret, user=bob, role=Membership.Role.MODERATOR)
    sent = post(ann, secret, "hello").json()
    client_for(bob).post(f"{ROOMS}secret/read/", {"seq": sent["seq"]}, format="json")
    members = client_for(bob).get(f"{ROOMS}secret/members/").json()["results"]
    assert [(m["user"], m["role"], m["read_seq"]) for m in members] == [
        ({"id": ann.pk, "name": "ann"}, "owner", 0),
        ({"id": bob.pk, "name": "bob"}, "moderator", sent["seq"]),
    ]


def test_history_is_newest_first_a_page_at_a_time_without_deleted_ones(ann, lobby):
    ids = [post(ann, lobby, f"m{n}").json()["id"] for n in range(5)]
    assert client_for(ann).delete(messages_url(lobby, ids[3])).status_code == 204
    client = client_for(ann)
    first = client.get(messages_url(lobby), {"limit": 2}).json()
    assert [m["body"] for m in first["results"]] == ["m4", "m2"]
    message = first["results"][0]
    assert set(message) == {
        "id",
        "seq",
        "room",
        "author",
        "body",
        "client_id",
        "created_at",
        "edited_at",
    }
    assert (message["room"], message["author"], message["client_id"]) == (
        "lobby",
        {"id": ann.pk, "name": "ann"},
        None,
    )
    second = client.get(first["next"]).json()
    assert [m["body"] for m in second["results"]] == ["m1", "m0"]
    assert second["next"] is None


def test_a_retried_client_id_is_stored_and_published_once(ann, lobby):
    first = post(ann, lobby, "once", client_id="retry-me")
    again = post(ann, lobby, "once", client_id="retry-me")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert first.json()["client_id"] == "retry-me"
    assert Message.objects.count() == 1
    assert Event.objects.filter(stream="room:lobby", type="chat.message").count() == 1
    Room.objects.create(slug="other", name="Other")
    elsewhere = post(ann, "other", "once", client_id="retry-me")
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (400, "invalid_frame")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("x" * 4001, "message_too_long"),
        ("", "invalid_message"),
        ("   ", "invalid_message"),
        (["a list"], "invalid_message"),
        (42, "invalid_message"),
        (None, "invalid_message"),
        ("nul \x00 inside", "invalid_message"),
    ],
)
def test_a_bad_message_is_a_400_with_its_code_and_nothing_is_stored(ann, lobby, body, code):
    refused = post(ann, lobby, body, client_id="bad")
    assert refused.status_code == 400
    assert refused.json()["code"] == code
    assert not Message.objects.exists()
    assert not Event.objects.filter(stream="room:lobby").exists()
    assert post(ann, lobby, "x" * 4000, client_id="bad").status_code == 201


def test_a_missing_body_is_an_invalid_message(ann, lobby):
    refused = client_for(ann).post(messages_url(lobby), {}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_message")


def test_sending_faster_than_the_rate_is_a_429_with_retry_after(ann, bob, lobby, settings):
    settings.NOTIFICATIONS = {"CHAT_SEND_RATE": 0.01, "CHAT_SEND_BURST": 2}
    answers = [post(ann, lobby, f"m{n}") for n in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    refused = answers[2]
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["code"] == "rate_limited" and refused.json()["retry_after"] > 0
    assert list(Message.objects.values_list("body", flat=True)) == ["m0", "m1"]
    assert post(bob, lobby, "someone else").status_code == 201


def test_only_the_author_edits_and_moderators_owners_and_staff_delete(
    ann, bob, lobby, django_user_model
):
    sent = post(ann, lobby, "mine").json()
    url = messages_url(lobby, sent["id"])
    as_bob = client_for(bob)
    refused = as_bob.patch(url, {"body": "yours"}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert as_bob.delete(url).status_code == 403
    edited = client_for(ann).patch(url, {"body": "  fixed  "}, format="json")
    assert edited.status_code == 200
    assert (edited.json()["body"], edited.json()["seq"]) == ("  fixed  ", sent["seq"])
    assert edited.json()["edited_at"] is not None
    assert client_for(ann).patch(url, {"body": ""}, format="json").json()["code"] == (
        "invalid_message"
    )
    Membership.objects.create(room=lobby, user=bob, role=Membership.Role.MODERATOR)
    assert as_bob.delete(url).status_code == 204
    assert Message.objects.get(pk=sent["id"]).deleted
    gone = client_for(ann).patch(url, {"body": "again"}, format="json")
    assert (gone.status_code, gone.json()["code"]) == (404, "not_found")
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    other = post(ann, lobby, "moderate me").json()
    assert client_for(staff).delete(messages_url(lobby, other["id"])).status_code == 204
    assert client_for(ann).delete(messages_url(lobby, 10**6)).status_code == 404
    types = list(Event.objects.filter(stream="room:lobby").values_list("type", flat=True))
    assert types == ["chat.message", "chat.edited", "chat.deleted", "chat.message", "chat.deleted"]


def test_marking_read_moves_the_marker_forward_only(ann, bob, lobby):
    seqs = [post(ann, lobby, f"m{n}").json()["seq"] for n in range(3)]
    client = client_for(bob)
    url = f"{ROOMS}lobby/read/"
    assert client.post(url, {"seq": seqs[0]}, format="json").json() == {
        "read_seq": seqs[0],
        "unread": 2,
    }
    assert client.post(url, {"seq": 0}, format="json").json() == {"read_seq": seqs[0], "unread": 2}
    head = seqs[2] + 1
    assert client.post(url, {"seq": 10**9}, format="json").json() == {"read_seq": head, "unread": 0}
    for bad in (-1, "x", None):
        assert client.post(url, {"seq": bad}, format="json").status_code == 400
    receipts = Event.objects.filter(stream="room:lobby", type="chat.read")
    assert [e.data for e in receipts.order_by("seq")] == [
        {"user": bob.pk, "seq": seqs[0]},
        {"user": bob.pk, "seq": head},
    ]
    assert Membership.objects.get(room=lobby, user=bob).read_seq == head


def test_text_comes_back_verbatim_as_a_json_string(ann, lobby):
    created = post(ann, lobby, XSS)
    assert created["Content-Type"] == "application/json"
    assert created.json()["body"] == XSS
    assert client_for(ann).get(messages_url(lobby)).json()["results"][0]["body"] == XSS
    assert Message.objects.get().body == XSS


@pytest.mark.django_db(transaction=True)
async def test_a_post_through_the_api_is_delivered_live_like_a_websocket_send(make_user):
    ann, _ = await make_user("ann")
    _, bob_session = await make_user("bob")
    await Room.objects.acreate(slug="lobby", name="Lobby")
    connected, _, reader = await open_socket(session=bob_session)
    assert connected
    history = await join(reader, "lobby")
    sent = await sync_to_async(post)(ann, "lobby", XSS, "live")
    assert sent.status_code == 201
    event = await reader.next("event")
    assert (event["event"], event["seq"]) == ("chat.message", history["seq"] + 1)
    assert event["seq"] == sent.json()["seq"]
    unlike = {"created_at": None, "seq": None}
    assert event["data"] | unlike == sent.json() | unlike
    url = messages_url("lobby", sent.json()["id"])
    await sync_to_async(client_for(ann).patch)(url, {"body": "edited"}, format="json")
    await sync_to_async(client_for(ann).delete)(url)
    edited, deleted = await reader.next("event"), await reader.next("event")
    assert (edited["event"], edited["data"]["body"]) == ("chat.edited", "edited")
    assert (deleted["event"], deleted["data"]) == ("chat.deleted", {"id": sent.json()["id"]})


@pytest.mark.django_db(transaction=True)
async def test_the_api_and_the_websocket_share_one_allowance(make_user, settings):
    settings.NOTIFICATIONS = {"CHAT_SEND_RATE": 0.01, "CHAT_SEND_BURST": 1}
    ann, ann_session = await make_user("ann")
    await Room.objects.acreate(slug="lobby", name="Lobby")
    assert (await sync_to_async(post)(ann, "lobby", "by the api")).status_code == 201
    socket = await socket_of({"ann": (ann, ann_session)}, "ann")
    refused = await send(socket, "lobby", "by the socket", "s1")
    assert (refused["type"], refused["code"]) == ("error", "rate_limited")
    assert await Message.objects.acount() == 1


def test_the_schema_describes_the_chat_endpoints():
    schema = client_for().get("/api/schema/").json()
    paths = schema["paths"]
    operations = {
        (path, method): operation["operationId"]
        for path, methods in paths.items()
        for method, operation in methods.items()
        if path.startswith("/api/chat/")
    }
    assert operations == {
        ("/api/chat/rooms/", "get"): "listRooms",
        ("/api/chat/rooms/", "post"): "createRoom",
        ("/api/chat/rooms/direct/", "post"): "startDirectConversation",
        ("/api/chat/rooms/{slug}/", "get"): "retrieveRoom",
        ("/api/chat/rooms/{slug}/read/", "post"): "markRoomRead",
        ("/api/chat/rooms/{slug}/members/", "get"): "listRoomMembers",
        ("/api/chat/rooms/{slug}/messages/", "get"): "listMessages",
        ("/api/chat/rooms/{slug}/messages/", "post"): "createMessage",
        ("/api/chat/rooms/{slug}/messages/{id}/", "patch"): "partialUpdateMessage",
        ("/api/chat/rooms/{slug}/messages/{id}/", "delete"): "destroyMessage",
    }
    create = paths["/api/chat/rooms/{slug}/messages/"]["post"]
    assert set(create["responses"]) == {"200", "201", "400", "404", "429"}
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PostMessage"
    }
    assert set(paths["/api/chat/rooms/{slug}/read/"]["post"]["responses"]) == {"200", "404"}
    assert "cursor" in {
        p["name"] for p in paths["/api/chat/rooms/{slug}/messages/"]["get"]["parameters"]
    }
    components = schema["components"]["schemas"]
    assert components["PostMessage"]["required"] == ["body"]
    assert components["PostMessage"]["properties"]["body"]["maxLength"] == 4000
    assert {"unread", "read_seq", "head", "with", "members"} <= set(
        components["Room"]["properties"]
    )
    assert components["Message"]["properties"]["body"]["type"] == "string"
    assert set(components["ChatError"]["properties"]) == {"code", "detail", "retry_after"}
    assert components["StartDirect"]["required"] == ["user"]
    assert components["MarkRead"]["properties"]["seq"]["minimum"] == 0
