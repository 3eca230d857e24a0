import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from notifications import delivery, wire
from notifications.inbox import api as inbox_api
from notifications.inbox import live
from notifications.inbox.api import anotify, notify, notify_handler
from notifications.inbox.helpers import as_dict
from notifications.log import Event
from notifications.models import Notification
from notifications.signals import notifications_created
from notifications.signals import notify as notify_signal
from notifications.testing import StreamListener

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def users():
    return [User.objects.create(username=name) for name in ("ann", "bob", "cid")]


def pushed(user):
    return list(
        Event.objects.filter(stream=f"user:{user.pk}").order_by("seq").values_list("type", "data")
    )


def test_notify_stores_the_notification_and_pushes_it_with_the_unread_count(users):
    ann, bob, cid = users
    assert notify(bob, "commented on", actor=ann, target=cid, url="/posts/1/", level="warning") == 1
    notification = bob.notifications.get()
    assert (notification.actor, notification.target, notification.verb) == (
        ann,
        cid,
        "commented on",
    )
    assert notification.data == {"url": "/posts/1/"}
    assert (notification.level, notification.unread, notification.read_at) == (
        "warning",
        True,
        None,
    )
    assert str(notification).startswith("ann commented on cid")
    [(kind, data)] = pushed(bob)
    assert kind == "notification.created"
    assert data["unread_count"] == 1
    assert data["notification"]["id"] == notification.pk
    assert data["notification"]["slug"] == notification.pk + 110909
    assert (data["notification"]["actor"], data["notification"]["target"]) == ("ann", "cid")
    assert pushed(ann) == [] and pushed(cid) == []


def test_each_recipient_of_a_send_to_many_is_pushed_its_own_notification_as_json(users):
    ann, bob, cid = users
    notify(bob, "tagged you", actor=ann, target=cid, data={"nul": "\\u0000 as text"})
    notify([bob, cid], "tagged you", actor=ann, target=cid, data={"nul": "\\u0000 as text"})
    _, together = pushed(bob)
    [cid_event] = pushed(cid)
    for (_, data), recipient in ((together, bob), (cid_event, cid)):
        notification = recipient.notifications.order_by("-pk").first()
        expected = json.loads(wire.dumps(as_dict(notification)))
        assert data["notification"] == expected
        assert data["unread_count"] == recipient.notifications.unread().count()


def test_recipients_may_be_a_group_a_queryset_or_any_iterable_of_users_or_ids(users):
    ann, bob, cid = users
    team = Group.objects.create(name="team")
    team.user_set.add(ann, cid)
    assert notify(team, "g") == 2
    assert notify(User.objects.filter(username__in=["bob", "cid"]), "q") == 2
    assert notify([ann, bob.pk], "l") == 2
    assert notify(User.objects.order_by("username")[:1], "s") == 1
    verbs = {
        user.username: sorted(user.notifications.values_list("verb", flat=True)) for user in users
    }
    assert verbs == {"ann": ["g", "l", "s"], "bob": ["l", "q"], "cid": ["g", "q"]}
    with pytest.raises(TypeError):
        notify("ann", "x")


def test_a_notify_in_a_rolled_back_transaction_leaves_nothing(users):
    def send_then_fail():
        with transaction.atomic():
            notify(users[1], "x", actor=users[0])
            raise RuntimeError

    with pytest.raises(RuntimeError):
        send_then_fail()
    assert not Notification.objects.exists() and pushed(users[1]) == []


def test_each_recipients_count_is_its_own(users):
    ann, bob, _ = users
    notify(bob, "one")
    notify([ann, bob], "two")
    counts = [data["unread_count"] for _, data in pushed(bob)]
    assert counts == [1, 2]
    assert [data["unread_count"] for _, data in pushed(ann)] == [1]
    for user in (ann, bob):
        ids = set(user.notifications.values_list("pk", flat=True))
        items = [data["notification"] for _, data in pushed(user)]
        assert {item["id"] for item in items} == ids
        assert {item["recipient"] for item in items} == {user.pk}


def test_notify_send_keeps_django_notifications_hq_semantics(users):
    ann, bob, cid = users
    saved = []

    def on_save(sender, instance, created, **kwargs):
        saved.append((instance, created))

    post_save.connect(on_save, sender=Notification)
    try:
        results = notify_signal.send(
            ann, recipient=[bob, cid], verb="liked", action_object=cid, emailed=True, url="/x/"
        )
    finally:
        post_save.disconnect(on_save, sender=Notification)
    [sent] = [notifications for receiver, notifications in results if receiver is notify_handler]
    assert [n.recipient for n in sent] == [bob, cid]
    assert all(type(n) is Notification and n.actor == ann for n in sent)
    for notification in Notification.objects.all():
        assert notification.action_object == cid
        assert notification.emailed is True
        assert notification.data == {"url": "/x/"}
    assert saved == [(n, True) for n in sent]


def test_a_batch_of_new_notifications_is_announced_once(users):
    batches = []

    def receiver(sender, notifications, **kwargs):
        batches.append((sender, len(notifications)))

    notifications_created.connect(receiver)
    try:
        notify(User.objects.all(), "hello")
    finally:
        notifications_created.disconnect(receiver)
    assert batches == [(Notification, 3)]


def test_notify_to_10000_users_takes_queries_and_layer_messages_that_do_not_grow_per_user(
    memory_layer, monkeypatch
):
    User.objects.bulk_create([User(username=f"u{n}") for n in range(10_000)])
    layer = get_channel_layer()
    sent = []
    group_send = layer.group_send

    async def counting_group_send(group, message):
        sent.append(group)
        await group_send(group, message)

    monkeypatch.setattr(layer, "group_send", counting_group_send)

    def measured(users):
        sent.clear()
        with transaction.atomic(), CaptureQueriesContext(connection) as captured:
            assert notify(users, "hello") == len(users)
        delivery.flush()
        return len(captured.captured_queries), len(sent)

    ten, one_batch = measured(User.objects.order_by("pk")[:10]), measured(User.objects.all()[:1000])
    everyone = measured(User.objects.all())
    assert one_batch == ten
    queries, messages = everyone
    assert queries <= 10 * one_batch[0] + 2
    assert messages <= 10 * one_batch[1]
    assert Notification.objects.count() == 11_010
    assert Event.objects.filter(type="notification.created").count() == 11_010


def test_a_send_to_many_stores_and_pushes_every_batch_with_its_own_transaction(monkeypatch):
    monkeypatch.setattr(inbox_api, "BATCH_SIZE", 100)
    User.objects.bulk_create([User(username=f"u{n}") for n in range(1050)])
    reported = []
    announced = []

    def receiver(sender, notifications, **kwargs):
        announced.append(len(notifications))

    notifications_created.connect(receiver)
    try:
        assert notify(User.objects.all(), "hello", on_batch=reported.append) == 1050
    finally:
        notifications_created.disconnect(receiver)
    assert sorted(reported) == sorted(announced) == [50] + [100] * 10
    assert Notification.objects.values("recipient").distinct().count() == 1050
    counts = Event.objects.filter(type="notification.created").values_list("data", flat=True)
    assert len(counts) == 1050
    assert {data["unread_count"] for data in counts} == {1}


def test_a_batch_that_fails_stores_nothing_of_itself_and_the_error_reaches_the_caller(
    monkeypatch,
):
    monkeypatch.setattr(inbox_api, "BATCH_SIZE", 100)
    User.objects.bulk_create([User(username=f"u{n}") for n in range(1000)])
    push = live.push_created
    calls = []

    def failing_push(model, notifications, **options):
        calls.append(len(notifications))
        if len(calls) == 4:
            raise RuntimeError("the layer is gone")
        push(model, notifications, **options)

    monkeypatch.setattr(live, "push_created", failing_push)
    with pytest.raises(RuntimeError, match="the layer is gone"):
        notify(User.objects.all(), "hello")
    stored = Notification.objects.count()
    assert stored % 100 == 0 and 300 <= stored < 1000
    assert Event.objects.filter(type="notification.created").count() == stored


async def test_anotify_pushes_to_an_open_reader(users):
    ann, bob, _ = users
    async with StreamListener(f"user:{bob.pk}") as listener:
        assert await anotify(bob, "waved", actor=ann) == 1
        message = await listener.next()
    assert message["event"] == "notification.created"
    assert message["data"]["unread_count"] == 1
    assert await sync_to_async(bob.notifications.count)() == 1
