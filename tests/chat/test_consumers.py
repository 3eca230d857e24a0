import pytest
from asgiref.sync import sync_to_async

from notifications.log import Event
from notifications.models import Membership, Message, Notification, Room
from tests.clients import open_socket

pytestmark = pytest.mark.django_db(transaction=True)

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.fixture
async def people(make_user):
    alice, alice_session = await make_user("alice")
    bob, bob_session = await make_user("bob")
    return {"alice": (alice, alice_session), "bob": (bob, bob_session)}


async def socket_of(people, name):
    connected, _, socket = await open_socket(session=people[name][1])
    assert connected
    return socket


async def join(socket, room, **fields):
    await socket.send({"type": "chat.join", "room": room, "client_id": f"join-{room}", **fields})
    history = await socket.next("chat.history", "error")
    if history["type"] == "error":
        return history
    assert (await socket.next("subscribed"))["stream"] == f"room:{room}"
    return history


async def send(socket, room, body, client_id):
    await socket.send({"type": "chat.send", "room": room, "body": body, "client_id": client_id})
    return await socket.next("ack", "error")


def stored(room):
    return list(
        Message.objects.filter(room__slug=room).order_by("seq").values_list("body", flat=True)
    )


async def test_join_gives_the_latest_messages_then_the_room_live(people, settings):
    settings.NOTIFICATIONS = {"CHAT_HISTORY": 2}
    await Room.objects.acreate(slug="lobby", name="Lobby")
    alice = await socket_of(people, "alice")
    await join(alice, "lobby")
    for n in range(3):
        assert (await send(alice, "lobby", f"hello {n}", f"m{n}"))["type"] == "ack"
    bob = await socket_of(people, "bob")
    history = await join(bob, "lobby")
    assert [m["body"] for m in history["messages"]] == ["hello 1", "hello 2"]
    assert history["seq"] == history["messages"][-1]["seq"]
    assert history["messages"][0]["author"]["name"] == "alice"
    await send(alice, "lobby", "and live", "m3")
    event = await bob.next("event")
    assert (event["event"], event["data"]["body"]) == ("chat.message", "and live")
    assert event["seq"] == history["seq"] + 1


async def test_a_retried_send_is_stored_and_delivered_once_and_answered_alike(people):
    await Room.objects.acreate(slug="lobby", name="Lobby")
    alice = await socket_of(people, "alice")
    bob = await socket_of(people, "bob")
    await join(alice, "lobby")
    await join(bob, "lobby")
    first = await send(alice, "lobby", "once", "retry-me")
    again = await send(alice, "lobby", "once", "retry-me")
    assert first["duplicate"] is False and again["duplicate"] is True
    assert (again["id"], again["seq"]) == (first["id"], first["seq"])
    assert await sync_to_async(stored)("lobby") == ["once"]
    await send(alice, "lobby", "next", "other")
    bodies = [(await bob.next("event"))["data"]["body"] for _ in range(2)]
    assert bodies == ["once", "next"]


async def test_a_non_member_is_refused_a_private_room_and_a_direct_conversation(people):
    alice, _ = people["alice"]
    for slug, fields in (("secret", {"is_private": True}), ("dm", {"kind": Room.Kind.DIRECT})):
        room = await Room.objects.acreate(slug=slug, name=slug, **fields)
        await Membership.objects.acreate(room=room, user=alice)
    bob = await socket_of(people, "bob")
    member = await socket_of(people, "alice")
    for slug in ("secret", "dm"):
        refused = await join(bob, slug)
        assert (refused["code"], refused["client_id"]) == ("forbidden", f"join-{slug}")
        assert (await send(bob, slug, "let me in", f"b-{slug}"))["code"] == "forbidden"
        assert (await join(member, slug))["type"] == "chat.history"
    assert await Message.objects.acount() == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [("x" * 4001, "message_too_long"), ("", "invalid_message"), (["a list"], "invalid_message")],
)
async def test_a_bad_message_gets_an_error_frame_and_nothing_is_stored(people, body, code):
    await Room.objects.acreate(slug="lobby", name="Lobby")
    alice = await socket_of(people, "alice")
    refused = await send(alice, "lobby", body, "bad")
    assert (refused["type"], refused["code"], refused["client_id"]) == ("error", code, "bad")
    assert await Message.objects.acount() == 0
    assert not await Event.objects.filter(stream="room:lobby").aexists()
    assert (await send(alice, "lobby", "still fine", "good"))["type"] == "ack"


async def test_sending_faster_than_the_rate_is_refused_with_when_to_retry(people, settings):
    settings.NOTIFICATIONS = {"CHAT_SEND_RATE": 0.01, "CHAT_SEND_BURST": 2}
    await Room.objects.acreate(slug="lobby", name="Lobby")
    alice = await socket_of(people, "alice")
    answers = [await send(alice, "lobby", f"m{n}", f"rate-{n}") for n in range(3)]
    assert [a["type"] for a in answers] == ["ack", "ack", "error"]
    assert answers[2]["code"] == "rate_limited" and answers[2]["retry_after"] > 0
    assert await sync_to_async(stored)("lobby") == ["m0", "m1"]


async def test_edits_and_deletes_are_events_a_reconnecting_client_replays(people):
    await Room.objects.acreate(slug="lobby", name="Lobby")
    alice = await socket_of(people, "alice")
    bob = await socket_of(people, "bob")
    history = await join(bob, "lobby")
    sent = await send(alice, "lobby", "typo", "t1")
    await bob.communicator.disconnect()
    await alice.send({"type": "chat.edit", "room": "lobby", "id": sent["id"], "body": "fixed"})
    await alice.send({"type": "chat.delete", "room": "lobby", "id": sent["id"]})
    await alice.send({"type": "chat.edit", "room": "lobby", "id": sent["id"], "body": "again"})
    assert (await alice.next("error"))["code"] == "not_found"
    bob = await socket_of(people, "bob")
    await bob.send({"type": "subscribe", "stream": "room:lobby", "since": history["seq"]})
    events = [(await bob.next("event")) for _ in range(3)]
    assert [e["event"] for e in events] == ["chat.message", "chat.edited", "chat.deleted"]
    assert events[1]["data"]["body"] == "fixed"
    assert [m["body"] for m in (await join(bob, "lobby"))["messages"]] == []


async def test_only_the_author_edits_and_a_moderator_may_delete(people):
    room = await Room.objects.acreate(slug="lobby", name="Lobby")
    alice = await socket_of(people, "alice")
    bob = await socket_of(people, "bob")
    sent = await send(alice, "lobby", "mine", "a1")
    await bob.send({"type": "chat.edit", "room": "lobby", "id": sent["id"], "body": "yours"})
    assert (await bob.next("error"))["code"] == "forbidden"
    await bob.send({"type": "chat.delete", "room": "lobby", "id": sent["id"]})
    assert (await bob.next("error"))["code"] == "forbidden"
    await Membership.objects.acreate(
        room=room, user=people["bob"][0], role=Membership.Role.MODERATOR
    )
    await bob.send({"type": "chat.delete", "room": "lobby", "id": sent["id"], "client_id": "d"})
    assert (await bob.next("ack", "error"))["type"] == "ack"
    assert (await Message.objects.aget(pk=sent["id"])).deleted


async def test_reading_moves_the_marker_forward_sends_receipts_and_syncs_my_tabs(people):
    alice_user, _ = people["alice"]
    bob_user, _ = people["bob"]
    await Room.objects.acreate(slug="lobby", name="Lobby")
    alice = await socket_of(people, "alice")
    bob = await socket_of(people, "bob")
    bob_tab = await socket_of(people, "bob")
    await join(alice, "lobby")
    await bob_tab.send({"type": "subscribe", "stream": f"user:{bob_user.pk}"})
    await bob_tab.next("subscribed")
    for n in range(3):
        last = await send(alice, "lobby", f"m{n}", f"r{n}")
    first_seq = last["seq"] - 2
    await bob.send({"type": "chat.read", "room": "lobby", "seq": first_seq, "client_id": "r"})
    assert (await bob.next("ack"))["read_seq"] == first_seq
    receipt = await alice.next("event")
    while receipt["event"] != "chat.read":
        receipt = await alice.next("event")
    assert receipt["data"] == {"user": bob_user.pk, "seq": first_seq}
    unread = await bob_tab.next("event")
    assert unread["event"] == "chat.unread"
    assert unread["data"] == {"room": "lobby", "read_seq": first_seq, "unread": 2}
    await bob.send({"type": "chat.read", "room": "lobby", "seq": 1, "client_id": "back"})
    assert (await bob.next("ack"))["read_seq"] == first_seq
    await bob.send({"type": "chat.read", "room": "lobby", "seq": 10**9, "client_id": "far"})
    assert (await bob.next("ack"))["read_seq"] == receipt["seq"]
    history = await join(alice, "lobby")
    assert history["read"] == {str(bob_user.pk): receipt["seq"]}
    assert alice_user.pk not in [int(k) for k in history["read"]]


async def test_typing_is_never_stored_and_goes_out_at_most_once_an_interval(people, settings):
    settings.NOTIFICATIONS = {"CHAT_TYPING_INTERVAL": 60}
    await Room.objects.acreate(slug="lobby", name="Lobby")
    alice = await socket_of(people, "alice")
    bob = await socket_of(people, "bob")
    await join(bob, "lobby")
    for _ in range(3):
        await alice.send({"type": "chat.typing", "room": "lobby"})
    typing = await bob.next("event")
    assert (typing["event"], typing["seq"], typing["data"]["user"]["name"]) == (
        "chat.typing",
        None,
        "alice",
    )
    await send(alice, "lobby", "done typing", "t")
    assert (await bob.next("event"))["event"] == "chat.message"
    assert not await Event.objects.filter(type="chat.typing").aexists()


async def test_a_mention_notifies_each_reader_once_and_nobody_who_may_not_read(people, make_user):
    alice, _ = people["alice"]
    bob, _ = people["bob"]
    await make_user("cid")
    room = await Room.objects.acreate(slug="secret", name="Secret", is_private=True)
    await Membership.objects.acreate(room=room, user=alice)
    await Membership.objects.acreate(room=room, user=bob)
    socket = await socket_of(people, "alice")
    for _ in range(2):
        await send(socket, "secret", "@bob @cid @alice see this, @nobody", "mention")
    mentions = Notification.objects.filter(verb="mentioned you in")
    assert [n.recipient_id async for n in mentions] == [bob.pk]
    notification = await mentions.aget()
    assert notification.data["room"] == "secret"


async def test_message_text_is_stored_and_sent_verbatim(people):
    await Room.objects.acreate(slug="lobby", name="Lobby")
    alice = await socket_of(people, "alice")
    bob = await socket_of(people, "bob")
    await join(bob, "lobby")
    await send(alice, "lobby", XSS, "x")
    assert (await bob.next("event"))["data"]["body"] == XSS
    assert await sync_to_async(stored)("lobby") == [XSS]
