import pytest
from asgiref.sync import sync_to_async

from notifications.api import apublish
from notifications.tasks.lifecycle import create_run
from tests.test_views import SseExchange

pytestmark = pytest.mark.django_db(transaction=True)

acreate_run = sync_to_async(create_run)


async def test_a_task_stream_ends_after_its_terminal_event_and_then_answers_204(make_user):
    """Served by the generic `/live/events/` view: the task kind declares its terminal events."""
    _, staff = await make_user("staff", is_staff=True)
    run = await acreate_run("app.tasks.work", (), {})
    exchange = await SseExchange(f"/live/events/{run.stream}/?since=0", staff).start()
    assert (await exchange.event())["id"] == ["1"]
    await apublish(run.stream, "task.succeeded", {"result": 42})
    rest = (await exchange.body()).decode()
    assert "event: task.succeeded" in rest and exchange.ended
    for headers in ([(b"last-event-id", b"2")], []):
        finished = await SseExchange(f"/live/events/{run.stream}/", staff, headers).start()
        assert finished.status == 204
    behind = await SseExchange(f"/live/events/{run.stream}/?since=1", staff).start()
    assert behind.status == 200
    assert "event: task.succeeded" in (await behind.body()).decode()


async def test_a_run_is_its_owners_and_staffs_and_unknown_to_everyone_else(make_user):
    alice, alice_session = await make_user("alice")
    _, bob_session = await make_user("bob")
    _, staff_session = await make_user("staff", is_staff=True)
    run = await acreate_run("app.tasks.work", (), {}, owner=alice)
    for session in (alice_session, staff_session):
        exchange = await SseExchange(f"/live/events/{run.stream}/?since=0", session).start()
        assert exchange.status == 200
    for stream in (run.stream, "task:00000000-0000-0000-0000-000000000000"):
        refused = await SseExchange(f"/live/events/{stream}/", bob_session).start()
        assert refused.status == 404
        assert b'"not_found"' in await refused.body()
