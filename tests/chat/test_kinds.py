import pytest
from django.contrib.auth.models import AnonymousUser

from notifications.models import Room
from notifications.policy import get_policy

pytestmark = pytest.mark.django_db


def test_public_rooms_are_for_everyone_logged_in_private_ones_for_members(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    secret = Room.objects.create(slug="secret", name="Secret", is_private=True)
    secret.members.add(alice)
    Room.objects.create(slug="lobby", name="Lobby")
    policy = get_policy()
    assert policy.can_read(alice, "room:secret") and not policy.can_read(bob, "room:secret")
    assert policy.can_read(bob, "room:lobby")
    assert not policy.can_read(bob, "room:missing")
    assert not policy.can_read(AnonymousUser(), "room:lobby")


def test_the_room_model_keeps_its_table_and_app():
    assert (Room._meta.app_label, Room._meta.db_table) == ("notifications", "notifications_room")
    assert Room(slug="lobby").stream == "room:lobby"
