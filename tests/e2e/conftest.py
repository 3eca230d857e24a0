"""Real-browser tests: Debian's Chromium driven by Playwright against daphne with Redis.
A failing test leaves a screenshot of each of its pages in test-artifacts/e2e/."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
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
    session share a browser context, like tabs."""
    contexts: dict[str, Any] = {}
    pages: list[Page] = []

    async def open_page(server: Any, session: str, path: str) -> Page:
        if session not in contexts:
            context = await browser.new_context()
            await context.add_cookies([{"name": "sessionid", "value": session, "url": server.http}])
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


async def shown_seqs(page: Page) -> list[int]:
    return await page.eval_on_selector_all(
        "#events li.event", "items => items.map(item => Number(item.dataset.seq))"
    )


async def wait_for_state(page: Page, state: str, timeout: float = 10_000) -> None:
    await page.wait_for_selector(f'#state[data-state="{state}"]', timeout=timeout)
