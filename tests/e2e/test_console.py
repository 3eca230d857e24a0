import asyncio
import time

import pytest

from notifications.api import apublish
from tests.e2e.conftest import shown_seqs, shown_types, wait_for_seqs, wait_for_state

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

# Records every state the console's #state pill shows, from the server-rendered one on.
RECORD_CONSOLE_STATES = """
window.consoleStates = [];
new MutationObserver(() => {
  const state = document.getElementById("state")?.dataset.state;
  if (state && state !== window.consoleStates.at(-1)) window.consoleStates.push(state);
}).observe(document, { subtree: true, childList: true, attributes: true });
"""


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
    assert await shown_types(page) == ["before", "during.outage", "during.outage", "after"]


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
    await first.wait_for_selector("#publish-result:has-text('Published #2')")
    for page in (first, second):
        await wait_for_seqs(page, [1, 2])
        assert await shown_types(page) == ["notification.created", "from.tab"]


async def test_the_console_shows_history_rendered_by_the_server_then_live_events_once(
    daphne, make_user, redis_layer, open_page
):
    _, session = await make_user("admin", is_staff=True)
    for n in range(3):
        await apublish("broadcast", "before", {"n": n})
    server = daphne()
    page = await open_page(server, session, "/console/?stream=broadcast")
    rendered = await (await page.request.get(page.url)).text()
    assert 'data-seq="1"' in rendered and 'data-seq="3"' in rendered
    await wait_for_state(page, "open")
    await apublish("broadcast", "after")
    await wait_for_seqs(page, [1, 2, 3, 4])


async def test_the_console_refuses_an_invalid_stream_key_with_a_visible_error(
    daphne, make_user, redis_layer, open_page
):
    _, session = await make_user("admin", is_staff=True)
    server = daphne()
    page = await open_page(server, session, "/console/?stream=Not%20a%20key!")
    error = page.locator("#stream-error")
    assert await error.is_visible()
    assert "Invalid stream key" in await error.inner_text()
    assert await page.input_value("#stream-input") == "Not a key!"
    assert await page.get_attribute("#state", "data-state") == "idle"
    await wait_for_state(page, "open", "#connection")
    await apublish("broadcast", "announcement", {"text": "not for this console"})
    await asyncio.sleep(1)
    assert await shown_seqs(page) == []
    assert await page.get_attribute("#state", "data-state") == "idle"


@pytest.mark.parametrize("transport", ["websocket", "sse"])
async def test_a_refused_subscription_shows_refused_and_never_open(
    daphne, make_user, redis_layer, open_page, transport
):
    _, session = await make_user("admin", is_staff=True)
    bob, _ = await make_user("bob")
    await apublish(f"user:{bob.pk}", "notification.created", {"title": "for bob only"})
    server = daphne()
    page = await open_page(server, session, "/")
    await page.add_init_script(RECORD_CONSOLE_STATES)
    await page.goto(f"{server.http}/console/?stream=user:{bob.pk}&transport={transport}")
    message = page.locator("#state-message")
    await message.filter(has_text="the server refused the subscription").wait_for(timeout=10_000)
    await wait_for_state(page, "open", "#connection")
    await asyncio.sleep(0.5)
    assert await page.evaluate("window.consoleStates") == ["refused"]
    assert "You may not read this stream" in await message.inner_text()
    assert await shown_seqs(page) == []


async def test_the_publish_form_shows_invalid_json_next_to_the_field(
    daphne, make_user, redis_layer, open_page
):
    _, session = await make_user("admin", is_staff=True)
    server = daphne()
    page = await open_page(server, session, "/console/?stream=broadcast")
    await wait_for_state(page, "open")
    await page.fill("#data-input", "{not json")
    await page.click("#publish button")
    error = page.locator("#data-error")
    await error.wait_for()
    assert "not valid JSON" in await error.inner_text()
    assert await page.get_attribute("#data-input", "aria-invalid") == "true"
    assert await page.input_value("#data-input") == "{not json"
    await page.fill("#data-input", '{"text": "fixed"}')
    await page.click("#publish button")
    await page.wait_for_selector("#publish-result:has-text('Published #1')")
    assert not await error.is_visible()
    await wait_for_seqs(page, [1])
