"""Writes docs/screenshots/*.png (full pages) on every run, with a few named events."""

import pytest
from asgiref.sync import sync_to_async

from notifications.api import apublish
from notifications.inbox.api import notify
from tests.e2e.conftest import save_screenshot, wait_for_seqs, wait_for_state

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


async def test_screenshots_of_every_page(daphne, make_user, redis_layer, open_page):
    _, admin_session = await make_user("admin", is_staff=True)
    alice, alice_session = await make_user("alice", password="alice")
    carol, _ = await make_user("carol")
    own = f"user:{alice.pk}"
    await apublish(own, "notification.created", {"title": "Bob invited you to “Design review”"})
    await apublish(own, "notification.created", {"title": "Your export is ready to download"})
    await apublish(own, "digest.weekly", {"text": "This week: 3 new comments on your posts"})
    await apublish("broadcast", "announcement", {"text": "Welcome to Live Notifications!"})
    await apublish("broadcast", "announcement", {"text": "Maintenance tonight, 22:00 to 22:30 UTC"})
    await sync_to_async(notify)(alice, "invited you to “Design review”", actor=carol, url="/tasks/")
    await sync_to_async(notify)(
        alice, "Your export is ready to download", level="success", description="3 files, 2 MB"
    )
    server = daphne()

    login = await open_page(server, None, "/accounts/login/")
    await save_screenshot(login, "login")

    home = await open_page(server, alice_session, "/")
    await wait_for_state(home, "open", "#connection")
    await sync_to_async(notify)(alice, "mentioned you in #general", actor=carol)
    await home.locator(".notification-bell-badge").filter(has_text="3").wait_for()
    await save_screenshot(home, "home")

    inbox = await open_page(server, alice_session, "/live/")
    await wait_for_state(inbox, "open", "#connection")
    await save_screenshot(inbox, "inbox")
    await inbox.click(".notification-bell-button")
    await inbox.locator(".notification-bell-panel").wait_for()
    await save_screenshot(inbox, "bell")

    console = await open_page(server, admin_session, "/console/?stream=broadcast")
    await wait_for_state(console, "open")
    await apublish("broadcast", "console.test", {"text": "hello from the console"})
    await wait_for_seqs(console, [1, 2, 3])
    await save_screenshot(console, "console")

    refused = await open_page(server, admin_session, f"/console/?stream={own}")
    await refused.locator("#state-message", has_text="refused the subscription").wait_for()
    await wait_for_state(refused, "open", "#connection")
    await save_screenshot(refused, "console-refused")
