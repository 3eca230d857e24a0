import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.inbox.api import notify
from notifications.log import Event

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:notifications_notification_changelist")


@pytest.fixture
def ann(django_user_model):
    return django_user_model.objects.create_user("ann")


def queries_for_list(client):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(captured.captured_queries), response


def test_the_list_takes_as_many_queries_for_fifty_rows_as_for_two(admin_client, admin_user, ann):
    notify(ann, "one", actor=admin_user, target=ann)
    notify(ann, "two", actor=ann)
    few, response = queries_for_list(admin_client)
    assert len(response.context["cl"].result_list) == 2
    for n in range(48):
        notify(ann, f"n{n}", actor=admin_user if n % 2 else ann, target=ann)
    many, response = queries_for_list(admin_client)
    assert len(response.context["cl"].result_list) == 50
    assert many == few


def test_search_and_the_read_actions(admin_client, admin_user, ann):
    notify(ann, "commented", actor=admin_user)
    notify(ann, "liked", actor=admin_user)
    response = admin_client.get(CHANGELIST, {"q": "liked"})
    [found] = response.context["cl"].result_list
    assert found.verb == "liked"
    response = admin_client.post(
        CHANGELIST,
        {"action": "mark_read", "_selected_action": [found.pk]},
        follow=True,
    )
    assert response.status_code == 200
    found.refresh_from_db()
    assert found.unread is False
    last = Event.objects.filter(stream=f"user:{ann.pk}").order_by("-seq").first()
    assert (last.type, last.data) == ("notification.read_all", {"unread_count": 1})
