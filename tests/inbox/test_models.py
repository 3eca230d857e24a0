import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured

from notifications.inbox.api import notify
from notifications.log import Event
from notifications.models import Notification
from notifications.utils import id2slug, slug2id

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ann():
    return User.objects.create(username="ann")


@pytest.fixture
def bob():
    return User.objects.create(username="bob")


def last_push(user):
    event = Event.objects.filter(stream=f"user:{user.pk}").order_by("-seq").first()
    return (event.type, event.data) if event else None


@pytest.fixture
def soft_delete(settings):
    settings.DJANGO_NOTIFICATIONS_CONFIG = {"SOFT_DELETE": True}


def test_marking_one_read_and_unread_pushes_the_recipients_new_count(ann, bob):
    notify(bob, "one", actor=ann)
    notify(bob, "two", actor=ann)
    first = bob.notifications.order_by("pk").first()
    first.mark_as_read()
    first.refresh_from_db()
    assert (first.unread, first.read_at is not None) == (False, True)
    assert last_push(bob) == (
        "notification.read",
        {"id": first.pk, "slug": id2slug(first.pk), "unread_count": 1},
    )
    pushes = Event.objects.count()
    first.mark_as_read()
    assert Event.objects.count() == pushes
    first.mark_as_unread()
    first.refresh_from_db()
    assert (first.unread, first.read_at) == (True, None)
    assert last_push(bob)[1]["unread_count"] == 2


def test_mark_all_as_read_pushes_only_to_the_recipients_it_touched(ann, bob):
    cid = User.objects.create(username="cid")
    notify([ann, bob], "hello")
    notify(cid, "hello")
    assert Notification.objects.filter(recipient__in=[ann, bob]).mark_all_as_read() == 2
    assert last_push(ann) == ("notification.read_all", {"unread_count": 0})
    assert last_push(bob) == ("notification.read_all", {"unread_count": 0})
    assert last_push(cid)[0] == "notification.created"
    assert bob.notifications.mark_all_as_unread() == 1
    assert last_push(bob) == ("notification.unread_all", {"unread_count": 1})
    assert Notification.objects.mark_all_as_read(recipient=ann) == 0


def test_the_querysets_read_and_unread(ann, bob):
    notify(bob, "a")
    notify(bob, "b")
    bob.notifications.order_by("pk").first().mark_as_read()
    assert (bob.notifications.unread().count(), bob.notifications.read().count()) == (1, 1)
    assert Notification.objects.unsent().count() == 2
    assert Notification.objects.mark_as_sent() == 2
    assert Notification.objects.sent().count() == 2


def test_active_and_deleted_need_soft_delete(bob):
    with pytest.raises(ImproperlyConfigured):
        Notification.objects.active()
    with pytest.raises(ImproperlyConfigured):
        Notification.objects.mark_all_as_deleted()


def test_with_soft_delete_deleted_notifications_leave_the_counts(bob, soft_delete):
    notify(bob, "a")
    notify(bob, "b")
    assert bob.notifications.filter(verb="a").mark_all_as_deleted() == 1
    assert last_push(bob) == ("notification.deleted_all", {"unread_count": 1})
    assert (bob.notifications.unread().count(), bob.notifications.active().count()) == (1, 1)
    assert bob.notifications.unread(include_deleted=True).count() == 2
    assert bob.notifications.mark_all_as_read() == 2
    assert bob.notifications.deleted().count() == 1
    assert bob.notifications.mark_all_as_active() == 1
    assert bob.notifications.active().count() == 2


def test_text_slug_and_levels(ann, bob):
    notify(bob, "followed you", actor=ann)
    notify(bob, "was published", target=ann)
    followed, published = bob.notifications.order_by("pk")
    assert str(followed).startswith("ann followed you 0")
    assert str(published).startswith("was published ann")
    assert slug2id(followed.slug) == followed.pk
    assert Notification.LEVELS.info == "info"
    assert [value for value, _ in Notification.LEVELS] == ["success", "info", "warning", "error"]
    assert followed.naturaltime() == "now"
