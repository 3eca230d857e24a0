from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from notifications.inbox.api import notify
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_pruning_deletes_old_read_and_deleted_notifications_and_keeps_every_unread_one(
    django_user_model, capsys
):
    ann = django_user_model.objects.create_user("ann")
    old = timezone.now() - timedelta(days=40)
    for verb in ("old read", "old unread", "old deleted", "new read"):
        notify(ann, verb, timestamp=old if verb.startswith("old") else None)
    Notification.objects.filter(verb__in=["old read", "new read"]).update(unread=False)
    Notification.objects.filter(verb="old deleted").update(deleted=True)
    call_command("prune_notifications", "--days", "30")
    assert "Deleted 2 notifications." in capsys.readouterr().out
    assert sorted(ann.notifications.values_list("verb", flat=True)) == ["new read", "old unread"]
    with pytest.raises(CommandError):
        call_command("prune_notifications", "--days", "0")
