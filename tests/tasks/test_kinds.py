import pytest

from notifications.api import apublish
from tests.test_views import SseExchange

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_task_stream_ends_after_its_terminal_event_and_then_answers_204(make_user):
    """Served by the generic `/live/events/` view: the task kind declares its terminal events."""
    _, staff = await make_user("staff", is_staff=True)
    await apublish("task:7", "task.progress", {"done": 1})
    exchange = await SseExchange("/live/events/task:7/?since=0", staff).start()
    assert (await exchange.event())["id"] == ["1"]
    await apublish("task:7", "task.succeeded", {"result": 42})
    rest = (await exchange.body()).decode()
    assert "event: task.succeeded" in rest and exchange.ended
    for headers in ([(b"last-event-id", b"2")], []):
        finished = await SseExchange("/live/events/task:7/", staff, headers).start()
        assert finished.status == 204
    behind = await SseExchange("/live/events/task:7/?since=1", staff).start()
    assert behind.status == 200
    assert "event: task.succeeded" in (await behind.body()).decode()


async def test_task_streams_are_for_staff_until_the_tasks_domain_knows_owners(make_user):
    _, alice = await make_user("alice")
    refused = await SseExchange("/live/events/task:7/", alice).start()
    assert refused.status == 403
