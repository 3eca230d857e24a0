"""Real-browser tests: Debian's Chromium driven by Playwright against daphne with Redis.
A failing test leaves a screenshot of each of its pages in test-artifacts/e2e/; the pages'
screenshots in docs/screenshots/ are written on every run, by test_screenshots.py (and the
Broadcast page's and the bell's with a send to everyone by test_inbox.py)."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
SCREENSHOTS = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("Chromium is not installed; `make test` installs Debian's chromium.")
    return path


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_FLAGS
        )
        yield browser
        await browser.close()


@pytest.fixture
async def open_page(
    browser: Browser, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Awaitable[Page]]]:
    """`page = await open_page(server, session, "/console/?stream=broadcast")`; pages of one
    session share a browser context, like tabs. `session=None` opens a signed-out context."""
    contexts: dict[str | None, Any] = {}
    pages: list[Page] = []

    async def open_page(server: Any, session: str | None, path: str) -> Page:
        if session not in contexts:
            context = await browser.new_context(viewport=VIEWPORT)
            if session is not None:
                cookie = {"name": "sessionid", "value": session, "url": server.http}
                await context.add_cookies([cookie])
            contexts[session] = context
        page = await contexts[session].new_page()
        page.on("console", lambda message: print(f"[browser {message.type}] {message.text}"))
        await page.goto(server.http + path)
        pages.append(page)
        return page

    yield open_page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for index, page in enumerate(pages):
            await page.screenshot(path=str(ARTIFACTS / f"{name}-{index}.png"), full_page=True)
    for context in contexts.values():
        await context.close()


async def shown_seqs(page: Page, items: str = "#events li.event") -> list[int]:
    return await page.eval_on_selector_all(
        items, "items => items.map(item => Number(item.dataset.seq))"
    )


async def wait_for_seqs(
    page: Page, expected: list[int], items: str = "#events li.event", timeout: float = 30
) -> None:
    """Wait until `items` show exactly the seqs `expected`, failing at once on a duplicate or
    an event out of order."""
    deadline = time.monotonic() + timeout
    while (seqs := await shown_seqs(page, items)) != expected:
        assert len(seqs) <= len(expected) and seqs == expected[: len(seqs)], seqs
        assert time.monotonic() < deadline, f"page shows {seqs}, expected {expected}"
        await asyncio.sleep(0.1)


async def shown_types(page: Page, items: str = "#events li.event") -> list[str]:
    return await page.eval_on_selector_all(items, "items => items.map(item => item.dataset.event)")


async def wait_for_state(
    page: Page, state: str, badge: str = "#state", timeout: float = 10_000
) -> None:
    """Wait until a state pill (the console's `#state`, the header's `#connection`) shows
    `state`."""
    await page.wait_for_selector(f'{badge}[data-state="{state}"]', timeout=timeout)


async def save_screenshot(page: Page, name: str) -> None:
    """A full-page PNG of `page` as docs/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.mouse.move(0, 0)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
