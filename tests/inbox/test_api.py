import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from notifications.inbox.api import anotify, notify, notify_handler
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


def test_notify_to_many_users_takes_a_number_of_queries_that_does_not_grow_per_user():
    User.objects.bulk_create([User(username=f"u{n}") for n in range(2000)])

    def queries(users):
        with CaptureQueriesContext(connection) as captured:
            assert notify(users, "hello") == len(users)
        return len(captured.captured_queries)

    small = queries(User.objects.order_by("pk")[:10])
    batch = queries(User.objects.order_by("pk")[:1000])
    two_batches = queries(User.objects.all())
    assert batch == small
    assert two_batches <= 2 * batch + 2


async def test_anotify_pushes_to_an_open_reader(users):
    ann, bob, _ = users
    async with StreamListener(f"user:{bob.pk}") as listener:
        assert await anotify(bob, "waved", actor=ann) == 1
        message = await listener.next()
    assert message["event"] == "notification.created"
    assert message["data"]["unread_count"] == 1
    assert await sync_to_async(bob.notifications.count)() == 1
