import pytest
from django.contrib.auth.models import AnonymousUser

from notifications.models import Room
from notifications.policy import DefaultStreamPolicy


@pytest.mark.django_db
def test_default_policy(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    secret = Room.objects.create(slug="secret", name="Secret", is_private=True)
    secret.members.add(alice)
    Room.objects.create(slug="lobby", name="Lobby")
    policy = DefaultStreamPolicy()

    assert policy.can_read(alice, f"user:{alice.pk}")
    assert not policy.can_read(alice, f"user:{bob.pk}")
    assert not policy.can_read(staff, f"user:{bob.pk}")
    assert policy.can_read(alice, "room:secret")
    assert not policy.can_read(bob, "room:secret")
    assert policy.can_read(bob, "room:lobby")
    assert not policy.can_read(bob, "room:missing")
    assert policy.can_read(staff, "task:1") and not policy.can_read(bob, "task:1")
    assert policy.can_read(bob, "broadcast")
    assert not policy.can_read(bob, "unknown:1")
    anonymous = AnonymousUser()
    assert not policy.can_connect(anonymous)
    assert not any(
        policy.can_read(anonymous, key) for key in ["broadcast", "room:lobby", "user:None"]
    )
