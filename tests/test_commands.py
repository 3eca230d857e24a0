from datetime import timedelta
from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command
from django.utils import timezone

from notifications.api import publish
from notifications.models import Event, Stream
from notifications.testing import StreamListener

pytestmark = pytest.mark.django_db(transaction=True)


def age(stream, upto, days):
    Event.objects.filter(stream=stream, seq__lte=upto).update(
        created_at=timezone.now() - timedelta(days=days)
    )


def test_prune_deletes_old_prefix_and_records_the_mark():
    for n in range(5):
        publish("room:a", "n", n)
        publish("room:b", "n", n)
    age("room:a", 3, days=10)
    age("room:b", 5, days=2)
    out = StringIO()
    call_command("prune_events", "--days", "7", stdout=out)
    assert "room:a: deleted events up to #3" in out.getvalue()
    assert list(Event.objects.filter(stream="room:a").values_list("seq", flat=True)) == [4, 5]
    assert Event.objects.filter(stream="room:b").count() == 5
    assert Stream.objects.get(key="room:a").pruned_seq == 3
    assert Stream.objects.get(key="room:b").pruned_seq == 0
    assert publish("room:a", "n").seq == 6


def test_prune_uses_the_retention_setting_and_one_stream(settings):
    settings.NOTIFICATIONS = {"RETENTION_DAYS": 1}
    for stream in ("room:a", "room:b"):
        publish(stream, "n")
        age(stream, 1, days=3)
    call_command("prune_events", "--stream", "room:b", stdout=StringIO())
    assert Event.objects.filter(stream="room:a").exists()
    assert not Event.objects.filter(stream="room:b").exists()


def test_prune_needs_a_horizon():
    with pytest.raises(CommandError, match="RETENTION_DAYS"):
        call_command("prune_events")
    with pytest.raises(CommandError, match="positive"):
        call_command("prune_events", "--days", "0")


async def test_reader_behind_the_pruned_mark_gets_resync_then_live():
    def setup():
        for n in range(5):
            publish("room:a", "n", n)
        age("room:a", 3, days=10)
        call_command("prune_events", "--days", "1", stdout=StringIO())

    await sync_to_async(setup)()
    async with StreamListener("room:a", since=2) as behind, StreamListener("room:a", since=3) as ok:
        assert await behind.next() == {
            "type": "resync",
            "stream": "room:a",
            "seq": 5,
            "reason": "pruned",
        }
        assert [m["seq"] for m in await ok.take(2)] == [4, 5]
