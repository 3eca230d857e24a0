import asyncio

import pytest
from django.contrib.auth.models import AnonymousUser

from notifications import kinds
from notifications.connection import Connection, process_id
from notifications.hub import get_hub

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def calls(memory_layer):
    seen = []
    kinds.register(
        kinds.StreamKind(
            "poll",
            on_enter=lambda connection, stream: seen.append(("enter", connection.id, stream)),
            on_leave=lambda connection, stream: seen.append(("leave", connection.id, stream)),
        )
    )
    yield seen
    kinds.unregister("poll")


async def test_a_kinds_hooks_see_each_subscription_start_and_end_once(calls):
    connection = Connection(AnonymousUser())
    assert connection.open()
    await connection.subscribe("poll:1", None)
    await connection.subscribe("poll:2", None)
    await connection.subscribe("broadcast", None)
    assert calls == [("enter", connection.id, "poll:1"), ("enter", connection.id, "poll:2")]
    connection.unsubscribe("poll:1")
    connection.unsubscribe("poll:1")
    connection.close()
    connection.close()
    assert calls[2:] == [("leave", connection.id, "poll:1"), ("leave", connection.id, "poll:2")]


async def test_a_subscription_cancelled_before_it_is_live_never_enters(calls):
    connection = Connection(AnonymousUser())
    connection.open()
    starting = connection.subscribe("poll:1", None)
    connection.unsubscribe("poll:1")
    with pytest.raises(asyncio.CancelledError):
        await starting
    connection.close()
    assert calls == []


async def test_closing_the_hub_ends_every_connection_then_awaits_its_closers(calls):
    connections = [Connection(AnonymousUser()) for _ in range(2)]
    for connection in connections:
        connection.open()
        await connection.subscribe("poll:1", None)
    closed = []

    async def closer():
        closed.append(sorted(c[1] for c in calls if c[0] == "leave"))

    hub = get_hub()
    hub.at_close(closer)
    await hub.aclose()
    assert closed == [sorted(c.id for c in connections)]
    assert all(c.closed for c in connections)
    assert get_hub() is not hub


def test_connection_ids_name_the_host_and_process():
    host, pid, token = process_id().split(":")
    assert host and int(pid) > 0 and len(token) == 8
