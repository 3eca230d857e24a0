import asyncio
import time

import pytest

from notifications.api import apublish
from tests.e2e.conftest import shown_seqs, wait_for_state

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


async def wait_for_seqs(page, expected, timeout=30):
    deadline = time.monotonic() + timeout
    while (seqs := await shown_seqs(page)) != expected:
        assert len(seqs) <= len(expected) and seqs == expected[: len(seqs)], seqs
        assert time.monotonic() < deadline, f"page shows {seqs}, expected {expected}"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("transport", ["websocket", "sse"])
async def test_page_shows_a_server_event_within_one_second(
    daphne, make_user, redis_layer, open_page, transport
):
    _, session = await make_user("alice", is_staff=True)
    server = daphne()
    page = await open_page(server, session, f"/console/?stream=broadcast&transport={transport}")
    await wait_for_state(page, "open")
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await apublish("broadcast", "announcement", {"text": "hello"})
    await page.wait_for_selector('#events li.event[data-seq="1"]', timeout=1000)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert "announcement" in await page.inner_text('#events li[data-seq="1"]')


@pytest.mark.parametrize("transport", ["websocket", "sse"])
async def test_page_reconnects_after_a_server_restart_and_shows_every_event_once(
    daphne, make_user, redis_layer, open_page, transport
):
    _, session = await make_user("alice", is_staff=True)
    server = daphne(NOTIFICATIONS_SSE_KEEPALIVE="2")
    page = await open_page(server, session, f"/console/?stream=broadcast&transport={transport}")
    await wait_for_state(page, "open")
    for n in range(3):
        await apublish("broadcast", "before", {"n": n})
    await wait_for_seqs(page, [1, 2, 3])

    server.kill()
    await wait_for_state(page, "offline")
    for n in range(3):
        await apublish("broadcast", "while.down", {"n": n})
        await asyncio.sleep(0.3)
    server.start()
    await apublish("broadcast", "after", {"n": 0})
    await wait_for_seqs(page, [1, 2, 3, 4, 5, 6, 7])
    await wait_for_state(page, "open")
    await apublish("broadcast", "after", {"n": 1})
    await wait_for_seqs(page, [1, 2, 3, 4, 5, 6, 7, 8])


async def test_page_shows_events_published_while_redis_was_down(
    daphne, make_user, redis_layer, open_page
):
    _, session = await make_user("alice", is_staff=True)
    server = daphne()
    page = await open_page(server, session, "/console/?stream=broadcast")
    await wait_for_state(page, "open")
    await apublish("broadcast", "before")
    await wait_for_seqs(page, [1])
    redis_layer.stop()
    await apublish("broadcast", "during.outage", {"n": 1})
    await apublish("broadcast", "during.outage", {"n": 2})
    await wait_for_seqs(page, [1, 2, 3], timeout=15)
    redis_layer.start()
    await apublish("broadcast", "after")
    await wait_for_seqs(page, [1, 2, 3, 4], timeout=15)
    texts = await page.eval_on_selector_all(
        "#events li.event", "items => items.map(i => i.dataset.event)"
    )
    assert texts == ["before", "during.outage", "during.outage", "after"]


async def test_a_second_tab_of_the_same_user_sees_the_same_events(
    daphne, make_user, redis_layer, open_page
):
    alice, session = await make_user("alice", is_staff=True)
    server = daphne()
    stream = f"user:{alice.pk}"
    first = await open_page(server, session, f"/console/?stream={stream}")
    second = await open_page(server, session, f"/console/?stream={stream}&transport=sse")
    await wait_for_state(first, "open")
    await wait_for_state(second, "open")
    await apublish(stream, "notification.created", {"title": "one"})
    await first.fill("#publish input[name=type]", "from.tab")
    await first.click("#publish button")
    await first.wait_for_selector("#publish-result:has-text('published #2')")
    for page in (first, second):
        await wait_for_seqs(page, [1, 2])
        events = await page.eval_on_selector_all(
            "#events li.event", "items => items.map(i => i.dataset.event)"
        )
        assert events == ["notification.created", "from.tab"]
