import pytest
from django.contrib.auth.models import AnonymousUser

from notifications.models import Room
from notifications.policy import DefaultStreamPolicy
from notifications.tasks.lifecycle import create_run

A_RUN = "task:6f1c9a00-0000-4000-8000-000000000001"


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
    run = create_run("app.tasks.work", (), {}, owner=alice)
    assert policy.can_read(alice, run.stream) and policy.can_read(staff, run.stream)
    assert not policy.can_read(bob, run.stream)
    assert policy.can_read(bob, "broadcast")
    assert not policy.can_read(bob, "unknown:1")
    anonymous = AnonymousUser()
    assert not policy.can_connect(anonymous)
    assert not any(
        policy.can_read(anonymous, key) for key in ["broadcast", "room:lobby", "user:None"]
    )


class TeamPolicy(DefaultStreamPolicy):
    def can_read_team(self, user, name):
        return name == "blue"

    def can_read(self, user, stream):
        if stream.startswith("task:") and getattr(user, "username", "") == "owner":
            return True
        return super().can_read(user, stream)

    def terminal_events(self, stream):
        return (
            frozenset({"match.over"})
            if stream.startswith("team:")
            else super().terminal_events(stream)
        )


@pytest.mark.django_db
def test_a_site_policy_overrides_any_decision_of_the_kinds(django_user_model, settings):
    from notifications.policy import get_policy

    settings.NOTIFICATIONS = {"STREAM_POLICY": "tests.test_policy.TeamPolicy"}
    owner = django_user_model.objects.create_user("owner")
    policy = get_policy()
    assert isinstance(policy, TeamPolicy)
    assert policy.can_read(owner, A_RUN)
    assert policy.can_read(owner, "team:blue") and not policy.can_read(owner, "team:red")
    assert not policy.can_read(AnonymousUser(), "team:blue")
    assert policy.terminal_events("team:blue") == {"match.over"}
    assert "task.succeeded" in policy.terminal_events(A_RUN)
