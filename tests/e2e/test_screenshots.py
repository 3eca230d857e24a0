"""Writes docs/screenshots/*.png (full pages) on every run, with a few named events."""

import pytest

from notifications.api import apublish
from tests.e2e.conftest import save_screenshot, wait_for_seqs, wait_for_state

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


async def test_screenshots_of_every_page(daphne, make_user, redis_layer, open_page):
    _, admin_session = await make_user("admin", is_staff=True)
    alice, alice_session = await make_user("alice", password="alice")
    own = f"user:{alice.pk}"
    await apublish(own, "notification.created", {"title": "Bob invited you to “Design review”"})
    await apublish(own, "notification.created", {"title": "Your export is ready to download"})
    await apublish(own, "digest.weekly", {"text": "This week: 3 new comments on your posts"})
    await apublish("broadcast", "announcement", {"text": "Welcome to Live Notifications!"})
    await apublish("broadcast", "announcement", {"text": "Maintenance tonight, 22:00 to 22:30 UTC"})
    server = daphne()

    login = await open_page(server, None, "/accounts/login/")
    await save_screenshot(login, "login")

    home = await open_page(server, alice_session, "/")
    await wait_for_state(home, "open", "#connection")
    await apublish(own, "notification.created", {"title": "Carol mentioned you in #general"})
    await home.locator("#bell-count").filter(has_text="1").wait_for()
    await save_screenshot(home, "home")

    console = await open_page(server, admin_session, "/console/?stream=broadcast")
    await wait_for_state(console, "open")
    await apublish("broadcast", "console.test", {"text": "hello from the console"})
    await wait_for_seqs(console, [1, 2, 3])
    await save_screenshot(console, "console")

    refused = await open_page(server, admin_session, f"/console/?stream={own}")
    await refused.locator("#state-message", has_text="refused the subscription").wait_for()
    await wait_for_state(refused, "open", "#connection")
    await save_screenshot(refused, "console-refused")
