"""The Tasks pages in Chromium, against daphne and a real `db_worker`: a run started from the
page streams its progress and every output line exactly once through lost connections, a
server restart and a reload; cancelling from the page; other users' runs stay unknown."""

import asyncio
import re
import time

import pytest
from asgiref.sync import sync_to_async

from notifications.tasks import demo, lifecycle, start
from notifications.tasks.models import TaskRun
from tests.e2e.conftest import save_screenshot, wait_for_state

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

RUN_PAGE = re.compile(r"/tasks/[0-9a-f-]{36}/$")
STEP_LINE = re.compile(r"step +(\d+): [0-9a-f]{16}")
BAR = "#run .live-task"


async def output_steps(page):
    """The step numbers of the run page's output lines; every line must be a step line."""
    lines = (await page.text_content(".live-task-output")).splitlines()
    steps = []
    for line in lines:
        match = STEP_LINE.fullmatch(line)
        assert match is not None, f"unexpected output line {line!r}"
        steps.append(int(match.group(1)))
    return steps


async def wait_for_steps(page, count, timeout=60.0):
    """Wait until the output shows steps 1..count, failing at once on a duplicated, skipped
    or reordered line."""
    deadline = time.monotonic() + timeout
    while (steps := await output_steps(page)) != list(range(1, count + 1)):
        assert steps == list(range(1, len(steps) + 1)), steps
        assert time.monotonic() < deadline, f"output shows {len(steps)} of {count} steps"
        await asyncio.sleep(0.1)


async def percent(page, bar=BAR):
    value = await page.get_attribute(f"{bar} [role=progressbar]", "aria-valuenow")
    return -1 if value is None else int(value)


async def wait_for_percent(page, at_least, bar=BAR, timeout=30.0):
    deadline = time.monotonic() + timeout
    while await percent(page, bar) < at_least:
        assert time.monotonic() < deadline, f"the bar is at {await percent(page, bar)}%"
        await asyncio.sleep(0.05)


async def assert_output_frozen(page, seconds=1.2):
    """While the page is cut off, the task goes on but nothing reaches the page."""
    await asyncio.sleep(0.3)
    before = await output_steps(page)
    await asyncio.sleep(seconds)
    assert await output_steps(page) == before


async def start_crunching(page, server, steps):
    await page.fill("#id_steps", str(steps))
    async with page.expect_navigation(url=RUN_PAGE):
        await page.click("form:has(input[name=task][value=crunch_numbers]) button[type=submit]")
    return page.url.removeprefix(server.http)


@pytest.mark.parametrize("transport", ["websocket", "sse"])
async def test_a_run_shows_every_output_line_once_through_cuts_a_restart_and_a_reload(
    daphne, worker, make_user, redis_layer, open_page, transport
):
    steps = 240
    _, session = await make_user("alice")
    server = daphne()
    worker()
    page = await open_page(server, session, "/tasks/")
    path = await start_crunching(page, server, steps)
    if transport == "sse":
        await page.goto(f"{server.http}{path}?transport=sse")
    await wait_for_percent(page, 1)
    assert await page.get_attribute(BAR, "data-status") == "running"

    if transport == "websocket":
        await page.context.set_offline(True)
        await wait_for_state(page, "offline", "#connection")
        await assert_output_frozen(page)
        await page.context.set_offline(False)
        await wait_for_state(page, "open", "#connection")

    server.kill()
    await assert_output_frozen(page)
    server.start()
    at_restart = await percent(page)
    await wait_for_percent(page, at_restart + 5)

    await page.reload()
    rendered = await output_steps(page)
    assert rendered == list(range(1, len(rendered) + 1)) and len(rendered) < steps
    assert await page.get_attribute(BAR, "data-status") == "running"
    await wait_for_steps(page, steps)

    await page.locator("#outcome:not([hidden])").wait_for(timeout=30_000)
    assert await page.get_attribute(BAR, "data-status") == "succeeded"
    assert await page.inner_text(f"{BAR} .live-task-percent") == "100%"
    assert await page.inner_text("#outcome h2") == "Result"
    assert "Steps\n240" in await page.inner_text("#outcome .result")
    assert await page.locator("#cancel").is_hidden()
    await asyncio.sleep(0.5)
    assert await output_steps(page) == list(range(1, steps + 1))


async def test_a_long_run_is_cancelled_from_its_page(
    daphne, worker, make_user, redis_layer, open_page
):
    _, session = await make_user("alice")
    server = daphne()
    worker()
    page = await open_page(server, session, "/tasks/")
    path = await start_crunching(page, server, 1000)
    await wait_for_percent(page, 1)
    await page.click("#cancel button")
    await page.locator(f'{BAR}[data-status="cancelled"]').wait_for(timeout=15_000)
    assert await page.inner_text(f"{BAR} .live-task-status") == "Cancelled"
    await page.locator("#outcome:not([hidden])").wait_for()
    assert await page.inner_text("#outcome h2") == "Cancelled"
    assert await page.locator("#cancel").is_hidden()
    run = await TaskRun.objects.aget(pk=path.split("/")[2])
    assert run.status == TaskRun.Status.CANCELLED
    lines = await output_steps(page)
    assert lines == list(range(1, len(lines) + 1)) and 0 < len(lines) < 1000

    await page.reload()
    assert await page.get_attribute(BAR, "data-status") == "cancelled"
    assert await page.inner_text("#outcome h2") == "Cancelled"
    assert await page.locator("#cancel").count() == 0
    assert await output_steps(page) == lines


async def test_another_users_run_is_not_found(daphne, make_user, redis_layer, open_page):
    alice, alice_session = await make_user("alice")
    _, bob_session = await make_user("bob")
    run = await sync_to_async(lifecycle.create_run)(
        demo.crunch_numbers.module_path, (), {}, owner=alice
    )
    server = daphne()

    own = await open_page(server, alice_session, f"/tasks/{run.pk}/")
    assert await own.get_attribute(BAR, "data-status") == "queued"
    bob = await open_page(server, bob_session, "/tasks/")
    assert await bob.locator(".runs").count() == 0
    assert "No runs yet" in await bob.inner_text("main")
    token = await bob.get_attribute("input[name=csrfmiddlewaretoken]", "value")
    response = await bob.goto(f"{server.http}/tasks/{run.pk}/")
    assert response.status == 404
    assert await bob.locator(".live-task").count() == 0
    cancel = await bob.request.post(
        f"{server.http}/tasks/{run.pk}/cancel/", form={"csrfmiddlewaretoken": token}
    )
    assert cancel.status == 404
    assert (await TaskRun.objects.aget(pk=run.pk)).status == TaskRun.Status.QUEUED


def finished_examples(owner):
    """Runs in each finished state, as if they had run a while ago."""
    write = demo.write_text.module_path
    crunch = demo.crunch_numbers.module_path
    written = lifecycle.create_run(write, (), {"prompt": "Tell me about live streams"}, owner=owner)
    lifecycle.begin(str(written.pk))
    lifecycle.finish(
        str(written.pk),
        "succeeded",
        progress=lifecycle.Progress(120, 120, None),
        texts=["Tell me about live streams, in order."],
        result={"words": 120, "characters": 731},
    )
    cancelled = lifecycle.create_run(crunch, (), {"steps": 400}, owner=owner)
    lifecycle.begin(str(cancelled.pk))
    lifecycle.record(str(cancelled.pk), lifecycle.Progress(143, 400, "Step 143 of 400"), [])
    lifecycle.request_cancel(cancelled)
    lifecycle.finish(str(cancelled.pk), "cancelled")
    lost = lifecycle.create_run(crunch, (), {"steps": 40}, owner=owner)
    lifecycle.begin(str(lost.pk))
    lifecycle.record(str(lost.pk), lifecycle.Progress(9, 40, "Step 9 of 40"), [])
    lifecycle.fail(str(lost.pk), "worker_lost", "WorkerLost", "No heartbeat for 10 seconds.")


async def test_screenshots_of_the_tasks_pages(daphne, worker, make_user, redis_layer, open_page):
    alice, session = await make_user("alice")
    await sync_to_async(finished_examples)(alice)
    server = daphne()
    worker()
    await sync_to_async(start)(demo.crunch_numbers, steps=60, owner=alice)

    page = await open_page(server, session, "/tasks/")
    await wait_for_state(page, "open", "#connection")
    running = ".run:first-child .live-task"
    await wait_for_percent(page, 30, bar=running)
    assert await page.locator(".run").count() == 4
    await save_screenshot(page, "tasks")

    async with page.expect_navigation(url=RUN_PAGE):
        await page.click(".run:first-child .run-title")
    await wait_for_state(page, "open", "#connection")
    await wait_for_percent(page, 55)
    await save_screenshot(page, "task-run")
