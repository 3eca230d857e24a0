"""Sends to everyone, stored once and taken into each inbox when it is read; the Broadcast admin
page; and a user's copy of a send marked read."""

import threading
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.db import connection, connections, models
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.inbox import admin as inbox_admin
from notifications.inbox import broadcasts
from notifications.inbox.api import EVERYONE, notify
from notifications.inbox.base import AbstractNotification
from notifications.inbox.models import Broadcast, InboxMark
from notifications.log import Event
from notifications.models import Notification
from notifications.tasks.models import TaskRun
from tests.clients import WebSocketClient
from tests.tasks.conftest import TASKS_API

pytestmark = pytest.mark.django_db

ADD = reverse("admin:notifications_broadcast_add")
CHANGELIST = reverse("admin:notifications_broadcast_changelist")
USERS = reverse("admin:auth_user_changelist")
GROUPS = reverse("admin:auth_group_changelist")


@pytest.fixture
def ann(django_user_model):
    return django_user_model.objects.create_user("ann", date_joined=timezone.now() - DAY)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", date_joined=timezone.now() - DAY)


DAY = timedelta(days=1)


def client_of(user, **options):
    client = Client(**options)
    client.force_login(user)
    return client


def events(stream, type=None):
    found = Event.objects.filter(stream=stream).order_by("seq")
    return list(found if type is None else found.filter(type=type))


def read_url(broadcast):
    return reverse("notifications:mark_broadcast_as_read", args=[broadcast.pk])


def test_a_send_to_everyone_is_one_row_and_one_event(ann, bob, django_user_model):
    django_user_model.objects.create_user("gone", is_active=False)
    sent = notify(EVERYONE, "Maintenance at 22:00", actor=ann, level="warning", url="/news/")
    assert sent == 2
    broadcast = Broadcast.objects.get()
    assert (broadcast.audience, broadcast.reached, broadcast.actor) == ("everyone", 2, ann)
    assert not Notification.objects.exists()
    assert not InboxMark.objects.exists()
    [event] = events("broadcast")
    assert (event.type, event.seq, broadcast.seq) == ("notification.broadcast", 1, 1)
    item = event.data["notification"]
    assert (item["id"], item["slug"], item["recipient"]) == (None, None, None)
    assert (item["broadcast"], item["unread"], item["actor"]) == (broadcast.pk, True, "ann")
    assert (item["verb"], item["level"]) == ("Maintenance at 22:00", "warning")
    assert item["data"] == {"url": "/news/", "broadcast": broadcast.pk}
    assert not Event.objects.exclude(stream="broadcast").exists()


def test_a_send_to_everyone_takes_no_target():
    with pytest.raises(TypeError):
        notify(EVERYONE, "x", target=Group.objects.create(name="g"))


def test_each_inbox_takes_it_in_once_in_one_query_when_nothing_is_new(ann, bob):
    with CaptureQueriesContext(connection) as nothing_yet:
        assert broadcasts.deliver(ann) == 0
    assert len(nothing_yet) == 1 and not InboxMark.objects.exists()
    broadcast = broadcasts.send_to_everyone("hello", actor=bob, url="/hi/")
    assert broadcasts.deliver(ann) == 1
    row = ann.notifications.get()
    assert (row.verb, row.unread, row.actor, row.timestamp) == (
        "hello",
        True,
        bob,
        broadcast.timestamp,
    )
    assert row.data == {"url": "/hi/", "broadcast": broadcast.pk}
    [created] = events(f"user:{ann.pk}")
    assert created.type == "notification.created"
    assert created.data["unread_count"] == 1
    assert created.data["notification"]["id"] == row.pk
    with CaptureQueriesContext(connection) as again:
        assert broadcasts.deliver(ann) == 0
    assert len(again) == 1
    assert ann.notifications.count() == 1 and not bob.notifications.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("visited", [False, True], ids=["first-visit", "returning"])
def test_two_requests_at_once_take_it_in_once(ann, monkeypatch, visited):
    if visited:
        broadcasts.send_to_everyone("before")
        broadcasts.deliver(ann)
    broadcasts.send_to_everyone("now")
    barrier = threading.Barrier(2, timeout=10)
    waited = threading.local()
    real = broadcasts.router.db_for_write

    def both_have_read(model, **hints):
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait()
        return real(model, **hints)

    monkeypatch.setattr(broadcasts.router, "db_for_write", both_have_read)
    made = []

    def request():
        try:
            made.append(broadcasts.deliver(ann))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(made) == [0, 1]
    assert sorted(ann.notifications.values_list("verb", flat=True)) == (
        ["before", "now"] if visited else ["now"]
    )


def test_each_user_has_their_own_read_state(ann, bob):
    broadcast = broadcasts.send_to_everyone("hello")
    as_ann = client_of(ann)
    response = as_ann.post(read_url(broadcast), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    body = response.json()
    assert body["unread_count"] == 0
    assert (body["notification"]["unread"], body["notification"]["data"]["broadcast"]) == (
        False,
        broadcast.pk,
    )
    assert ann.notifications.get().unread is False
    assert [e.type for e in events(f"user:{ann.pk}")] == [
        "notification.created",
        "notification.read",
    ]
    assert events(f"user:{ann.pk}")[-1].data["unread_count"] == 0
    as_bob = client_of(bob)
    assert as_bob.get(reverse("notifications:live_unread_notification_count")).json() == {
        "unread_count": 1
    }
    assert bob.notifications.get().unread is True


def test_users_who_joined_after_it_do_not_get_it(ann, django_user_model):
    broadcasts.send_to_everyone("before you came")
    newcomer = django_user_model.objects.create_user("newcomer")
    assert broadcasts.deliver(newcomer) == 0
    assert not newcomer.notifications.exists() and not InboxMark.objects.exists()
    broadcasts.send_to_everyone("welcome")
    assert broadcasts.deliver(newcomer) == 1
    assert list(newcomer.notifications.values_list("verb", flat=True)) == ["welcome"]
    assert broadcasts.deliver(ann) == 2


def test_a_deleted_copy_stays_deleted(ann):
    broadcasts.send_to_everyone("hello")
    as_ann = client_of(ann)
    [item] = as_ann.get(reverse("notifications:live_all_notification_list")).json()["all_list"]
    assert as_ann.post(reverse("notifications:delete", args=[item["slug"]])).status_code == 302
    assert not Notification.objects.exists()
    assert as_ann.get(reverse("notifications:live_all_notification_count")).json() == {
        "all_count": 0
    }
    assert broadcasts.deliver(ann) == 0
    assert as_ann.post(read_url(Broadcast.objects.get())).status_code == 404


@pytest.fixture
def swapped_model(settings, transactional_db):
    """A site's own notification model (NOTIFICATIONS_NOTIFICATION_MODEL), with its table."""

    class SiteNotification(AbstractNotification):
        recipient = models.ForeignKey(
            django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
        )
        importance = models.IntegerField(default=3)

        class Meta(AbstractNotification.Meta):
            abstract = False
            app_label = "notifications"
            db_table = "test_site_notification"

    with connection.schema_editor() as editor:
        editor.create_model(SiteNotification)
    settings.NOTIFICATIONS_NOTIFICATION_MODEL = "notifications.SiteNotification"
    yield SiteNotification
    with connection.schema_editor() as editor:
        editor.delete_model(SiteNotification)
    del apps.all_models["notifications"]["sitenotification"]
    apps.clear_cache()


@pytest.mark.django_db(transaction=True)
def test_a_swapped_model_gets_the_rows(swapped_model, ann):
    broadcast = broadcasts.send_to_everyone("hello", actor=ann)
    assert broadcasts.deliver(ann) == 1
    row = swapped_model.objects.get()
    assert (row.recipient, row.verb, row.importance, row.actor) == (ann, "hello", 3, ann)
    assert row.data == {"broadcast": broadcast.pk}
    [created] = events(f"user:{ann.pk}")
    assert (created.data["notification"]["id"], created.data["unread_count"]) == (row.pk, 1)


def render(source, user):
    request = RequestFactory().get("/")
    request.user = user
    return Template("{% load notifications_tags %}" + source).render(
        Context({"request": request, "user": user})
    )


@pytest.mark.parametrize(
    ("surface", "shows"),
    [
        ("all", lambda r: len(r.context["notifications"]) == 1),
        ("unread", lambda r: len(r.context["notifications"]) == 1),
        ("live_unread_notification_count", lambda r: r.json() == {"unread_count": 1}),
        ("live_all_notification_count", lambda r: r.json() == {"all_count": 1}),
        ("live_unread_notification_list", lambda r: len(r.json()["unread_list"]) == 1),
        ("live_all_notification_list", lambda r: len(r.json()["all_list"]) == 1),
    ],
)
def test_every_page_of_the_inbox_takes_it_in_first(ann, surface, shows):
    broadcasts.send_to_everyone("hello")
    assert shows(client_of(ann).get(reverse(f"notifications:{surface}")))


def test_the_template_tags_and_the_api_take_it_in_first(ann, bob, django_user_model):
    broadcasts.send_to_everyone("hello")
    assert render("{% notifications_unread %}", ann) == "1"
    assert render("{% live_notify_badge %}", bob) == (
        '<span class="live_notify_badge" data-notify-badge>1</span>'
    )
    cid = django_user_model.objects.create_user("cid", date_joined=timezone.now() - DAY)
    bell = render("{% notification_bell %}", cid)
    assert (
        'data-broadcast-stream="broadcast"' in bell
        and f'data-broadcast="{Broadcast.objects.get().pk}"' in bell
    )
    assert 'data-broadcast-read-url="/live/broadcast/0/read/"' in bell
    dan = django_user_model.objects.create_user("dan", date_joined=timezone.now() - DAY)
    assert render("{{ user|has_notification }}", dan) == "True"
    api = APIClient()
    eve = django_user_model.objects.create_user("eve", date_joined=timezone.now() - DAY)
    api.force_authenticate(eve)
    assert api.get("/api/notifications/unread-count/").json() == {"unread_count": 1}
    fay = django_user_model.objects.create_user("fay", date_joined=timezone.now() - DAY)
    api.force_authenticate(fay)
    [item] = api.get("/api/notifications/").json()["results"]
    assert item["data"]["broadcast"] == Broadcast.objects.get().pk


def test_the_callbacks_tag_subscribes_to_broadcast_too(ann):
    html = render("{% register_notify_callbacks %}", ann)
    assert "&quot;broadcastStream&quot;: &quot;broadcast&quot;" in html


def test_a_request_asks_once_whatever_the_inbox_size(ann):
    broadcasts.send_to_everyone("hello")
    as_ann = client_of(ann)
    counted = reverse("notifications:live_unread_notification_list")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert as_ann.get(counted).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    first = queries()
    small = queries()
    assert len(first) > len(small)
    for n in range(30):
        notify(ann, f"n{n}")
    assert len(queries()) == len(small)
    assert sum("notifications_inboxmark" in sql for sql in small) == 1


def test_marking_read_takes_post_with_csrf_and_touches_only_my_copy(ann, bob):
    broadcast = broadcasts.send_to_everyone("hello")
    broadcasts.deliver(bob)
    strict = client_of(ann, enforce_csrf_checks=True)
    assert strict.get(read_url(broadcast)).status_code == 405
    assert strict.post(read_url(broadcast)).status_code == 403
    token = strict.get(reverse("notifications:all")).cookies["csrftoken"].value
    response = strict.post(read_url(broadcast) + "?next=/after/", {"csrfmiddlewaretoken": token})
    assert (response.status_code, response["Location"]) == (302, "/after/")
    assert ann.notifications.get().unread is False
    assert bob.notifications.get().unread is True
    assert not events(f"user:{bob.pk}", "notification.read")
    assert (
        client_of(ann).post(reverse("notifications:mark_broadcast_as_read", args=[999])).status_code
        == 404
    )
    anonymous = Client().post(read_url(broadcast))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_pruning_deletes_old_sends_to_everyone(django_user_model, capsys):
    long_ago = timezone.now() - timedelta(days=60)
    ann, bob = (django_user_model.objects.create_user(n, date_joined=long_ago) for n in "ab")
    old = broadcasts.send_to_everyone("old", timestamp=timezone.now() - timedelta(days=40))
    broadcasts.deliver(ann)
    broadcasts.send_to_everyone("new")
    kept = broadcasts.new_broadcast("groups", "to a group", timestamp=old.timestamp)
    kept.save()
    call_command("prune_notifications", "--days", "30")
    assert "Deleted 1 sends to everyone." in capsys.readouterr().out
    assert sorted(Broadcast.objects.values_list("verb", flat=True)) == ["new", "to a group"]
    assert sorted(ann.notifications.values_list("verb", flat=True)) == ["old"]
    broadcasts.deliver(bob)
    assert list(bob.notifications.values_list("verb", flat=True)) == ["new"]


@pytest.fixture
def admin(admin_user):
    admin_user.date_joined = timezone.now() - DAY
    admin_user.save()
    return client_of(admin_user)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_broadcast_page_is_an_admin_form(admin):
    page = admin.get(ADD)
    assert page.status_code == 200
    content = page.content.decode()
    for name in ("audience", "groups", "users", "verb", "level", "description", "url"):
        assert f'name="{name}"' in content, name
    assert "admin-autocomplete" in content and 'value="Send"' in content
    assert 'value="Save and add another"' not in content


def test_the_page_sends_to_everyone_at_once(admin, admin_user, ann, bob):
    response = admin.post(
        ADD, {"audience": "everyone", "verb": "Welcome", "level": "success", "url": "/w/"}
    )
    assert response["Location"] == CHANGELIST
    assert messages_of(response) == ["Sent to everyone (3 active users)."]
    broadcast = Broadcast.objects.get()
    assert (broadcast.sent_by, broadcast.reached, broadcast.level) == (admin_user, 3, "success")
    assert not Notification.objects.exists()
    assert events("broadcast", "notification.broadcast")
    listed = admin.get(CHANGELIST)
    assert [b.verb for b in listed.context["cl"].result_list] == ["Welcome"]


def test_the_page_sends_to_groups_and_to_selected_users(
    admin, admin_user, ann, bob, django_user_model
):
    team = Group.objects.create(name="team")
    team.user_set.add(ann, bob)
    response = admin.post(
        ADD, {"audience": "groups", "groups": [team.pk], "verb": "Standup", "level": "info"}
    )
    assert messages_of(response) == ["Notified 2 users."]
    cid = django_user_model.objects.create_user("cid")
    response = admin.post(
        ADD, {"audience": "users", "users": [cid.pk], "verb": "Hi cid", "level": "info"}
    )
    assert messages_of(response)[-1] == "Notified 1 user."
    sent = {b.verb: b for b in Broadcast.objects.all()}
    assert (sent["Standup"].audience, sent["Standup"].reached) == ("groups", 2)
    assert (sent["Hi cid"].audience, sent["Hi cid"].reached) == ("users", 1)
    assert sent["Hi cid"].sent_by == admin_user
    assert list(cid.notifications.values_list("verb", flat=True)) == ["Hi cid"]
    assert cid.notifications.get().actor == admin_user
    assert sorted(Notification.objects.values_list("recipient__username", flat=True)) == [
        "ann",
        "bob",
        "cid",
    ]


def test_an_audience_needs_its_groups_or_users(admin):
    page = admin.post(ADD, {"audience": "groups", "verb": "x", "level": "info"})
    assert page.status_code == 200
    assert "Choose at least one group." in page.content.decode()
    assert not Broadcast.objects.exists()


def test_a_large_audience_is_sent_by_a_task_whose_page_shows_it_live(
    admin, settings, monkeypatch, django_user_model, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": f"{TASKS_API}.backends.immediate.ImmediateBackend"}}
    monkeypatch.setattr(inbox_admin, "SEND_NOW_UP_TO", 2)
    team = Group.objects.create(name="team")
    team.user_set.add(*(django_user_model.objects.create_user(f"m{n}") for n in range(3)))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            ADD, {"audience": "groups", "groups": [team.pk], "verb": "Big", "level": "info"}
        )
    run = TaskRun.objects.get()
    page = reverse("admin:notifications_taskrun_change", args=[run.pk])
    assert response["Location"] == page
    assert messages_of(response) == ["Sending to 3 users; this page shows how far it got."]
    broadcast = Broadcast.objects.get()
    assert (broadcast.task_run, broadcast.reached) == (run, 3)
    assert (run.status, run.result) == ("succeeded", {"recipients": 3})
    shown = admin.get(page).content.decode()
    assert f'data-live-task="{run.pk}"' in shown
    assert "notifications/live.js" in shown and 'data-transport="sse"' in shown
    assert "notifications/tasks.js" in shown


def test_the_send_actions_are_recorded_too(admin, ann, bob):
    data = {"action": "notify_users", "_selected_action": [ann.pk, bob.pk]}
    admin.post(USERS, {**data, "send": "1", "verb": "From the list", "level": "info"})
    broadcast = Broadcast.objects.get()
    assert (broadcast.audience, broadcast.reached, broadcast.verb) == ("users", 2, "From the list")


def test_sending_needs_the_add_permission_and_a_send_is_never_edited(
    client, admin, django_user_model
):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_broadcast"))
    client.force_login(clerk)
    assert client.get(CHANGELIST).status_code == 200
    assert client.get(ADD).status_code == 403
    assert (
        client.post(ADD, {"audience": "everyone", "verb": "x", "level": "info"}).status_code == 403
    )
    assert not Broadcast.objects.exists()
    clerk.user_permissions.add(Permission.objects.get(codename="add_broadcast"))
    assert client.get(ADD).status_code == 200
    broadcast = broadcasts.send_to_everyone("sent")
    change = reverse("admin:notifications_broadcast_change", args=[broadcast.pk])
    shown = admin.get(change)
    assert shown.status_code == 200 and b'name="_save"' not in shown.content
    assert admin.post(change, {"verb": "edited"}).status_code == 403
    broadcast.refresh_from_db()
    assert broadcast.verb == "sent"


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
async def test_a_user_on_broadcast_receives_a_send_to_everyone(daphne, make_user):
    _, session = await make_user("ann")
    server = daphne()
    client = await WebSocketClient.connect(server.ws, "/ws/live/?stream=broadcast", session=session)
    await client.next("subscribed")
    broadcast = await sync_to_async(broadcasts.send_to_everyone)("Hello, everyone")
    [event] = await client.events(1)
    assert (event["stream"], event["event"]) == ("broadcast", "notification.broadcast")
    assert event["data"]["notification"]["broadcast"] == broadcast.pk
    assert event["data"]["notification"]["verb"] == "Hello, everyone"
    await client.close()
