import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from notifications.chat.api import post_message
from notifications.log import Event
from notifications.models import Membership, Message, Room

pytestmark = pytest.mark.django_db

MESSAGES = reverse("admin:notifications_message_changelist")
XSS = "<script>alert(1)</script>"


@pytest.fixture
def ann(django_user_model):
    return django_user_model.objects.create_user("ann")


@pytest.fixture
def lobby():
    return Room.objects.create(slug="lobby", name="Lobby")


def test_staff_delete_messages_for_everyone_and_readers_are_told(admin_client, ann, lobby):
    kept = post_message(lobby, ann, "keep me").message
    gone = post_message(lobby, ann, "spam").message
    response = admin_client.post(
        MESSAGES, {"action": "delete_messages", ACTION_CHECKBOX_NAME: [gone.pk]}, follow=True
    )
    assert "1 message deleted." in response.content.decode()
    gone.refresh_from_db()
    kept.refresh_from_db()
    assert (gone.deleted, kept.deleted) == (True, False)
    last = Event.objects.filter(stream="room:lobby").order_by("-seq").first()
    assert (last.type, last.data) == ("chat.deleted", {"id": gone.pk})


def test_search_filters_and_text_shown_as_text(admin_client, ann, lobby):
    post_message(lobby, ann, XSS)
    post_message(lobby, ann, "something else")
    response = admin_client.get(MESSAGES, {"q": "script"})
    page = response.content.decode()
    assert response.status_code == 200
    assert XSS not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "something else" not in page
    assert admin_client.get(MESSAGES, {"deleted__exact": "0"}).status_code == 200


def test_a_rooms_members_are_edited_inline(admin_client, ann, lobby):
    url = reverse("admin:notifications_room_change", args=[lobby.pk])
    page = admin_client.get(url).content.decode()
    assert "memberships-TOTAL_FORMS" in page
    Membership.objects.create(room=lobby, user=ann, role=Membership.Role.MODERATOR)
    assert "moderator" in admin_client.get(url).content.decode()
    assert Message.objects.count() == 0
