"""The inbox in Chromium: staff send from the real admin Broadcast page to users whose pages are
open in other browser contexts; the bell follows without a reload, and reading in one tab
clears it in the user's other tab but never in another user's."""

import re

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group
from playwright.async_api import Page, expect

from notifications.inbox.api import notify
from notifications.models import Notification
from tests.e2e.conftest import save_screenshot, wait_for_state

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

BADGE = ".notification-bell-badge"
ITEMS = ".notification-bell-item"
ADD = "/admin/notifications/broadcast/add/"


async def open_live(open_page, server, session, path="/") -> Page:
    page = await open_page(server, session, path)
    await wait_for_state(page, "open", "#connection")
    return page


async def send_from_the_admin(page: Page, verb: str, url: str = "", screenshot: str = "") -> None:
    await page.fill("#id_verb", verb)
    await page.select_option("#id_level", "success")
    await page.fill("#id_description", "Sent from the Broadcast page.")
    if url:
        await page.fill("#id_url", url)
    if screenshot:
        height = await page.evaluate("document.documentElement.scrollHeight")
        await page.set_viewport_size({"width": 1280, "height": height})
        await save_screenshot(page, screenshot)
    async with page.expect_navigation():
        await page.click("input[name=_send]")


@sync_to_async
def unread_of_the_broadcast():
    rows = Notification.objects.filter(data__broadcast__isnull=False)
    return dict(rows.values_list("recipient__username", "unread"))


async def test_staff_send_to_a_user_and_reading_in_one_tab_clears_the_other(
    daphne, make_user, redis_layer, open_page
):
    _, staff_session = await make_user("staff", is_staff=True, is_superuser=True)
    await make_user("bob")
    alice, session = await make_user("alice")
    for name in ("Editors", "Support"):
        await sync_to_async(Group.objects.create)(name=name)
    server = daphne()
    first = await open_live(open_page, server, session)
    second = await open_live(open_page, server, session, "/live/")
    for page in (first, second):
        await expect(page.locator(BADGE)).to_be_hidden()

    admin = await open_page(server, staff_session, ADD)
    await admin.check("input[name=audience][value=users]")
    await admin.click("#id_users + .select2 .select2-selection")
    await admin.fill(".select2-search__field", "ali")
    await admin.locator(".select2-results__option", has_text="alice").click()
    await expect(admin.locator("#id_users option:checked")).to_have_text("alice")
    await send_from_the_admin(admin, "Your report is ready", "/tasks/", "admin-broadcast")
    await expect(admin.locator(".messagelist")).to_have_text("Notified 1 user.")
    await expect(admin.locator("#result_list tbody tr")).to_have_count(1)

    for page in (first, second):
        await expect(page.locator(BADGE)).to_have_text("1")
    await first.click(".notification-bell-button")
    item = first.locator(ITEMS).first
    await expect(item).to_have_class("notification-bell-item unread")
    await expect(item.locator(".notification-bell-text")).to_have_text("staff Your report is ready")
    async with first.expect_navigation(url=server.http + "/tasks/"):
        await item.locator("a").click()
    await expect(second.locator(BADGE)).to_be_hidden()
    await expect(second.locator(f"{ITEMS}.unread")).to_have_count(0)
    assert second.url == server.http + "/live/"
    unread = await sync_to_async(Notification.objects.filter(recipient=alice, unread=True).count)()
    assert unread == 0


async def test_a_send_to_everyone_reaches_two_users_and_is_read_by_each_alone(
    daphne, make_user, redis_layer, open_page
):
    _, staff_session = await make_user("staff", is_staff=True, is_superuser=True)
    alice, alice_session = await make_user("alice")
    bob, bob_session = await make_user("bob")
    await sync_to_async(notify)(alice, "commented on your report", actor=bob, url="/tasks/")
    server = daphne()
    alices = await open_live(open_page, server, alice_session)
    bobs = await open_live(open_page, server, bob_session)
    await expect(alices.locator(BADGE)).to_have_text("1")

    admin = await open_page(server, staff_session, ADD)
    await expect(admin.locator("input[name=audience][value=everyone]")).to_be_checked()
    await send_from_the_admin(admin, "The site moves to a new server tonight")
    await expect(admin.locator(".messagelist")).to_have_text("Sent to everyone (3 active users).")
    rows = await sync_to_async(Notification.objects.count)()
    assert rows == 1

    for page, count in ((alices, "2"), (bobs, "1")):
        await expect(page.locator(BADGE)).to_have_text(count)
        await page.click(".notification-bell-button")
        item = page.locator(f"{ITEMS}[data-broadcast]")
        await expect(item).to_have_count(1)
        await expect(page.locator(ITEMS).first).to_have_attribute("data-broadcast", re.compile("."))
        await expect(item).to_have_class("notification-bell-item unread")
        await expect(item.locator(".notification-bell-text")).to_have_text(
            "staff The site moves to a new server tonight"
        )
    await save_screenshot(alices, "bell-broadcast")

    await alices.locator(f"{ITEMS}[data-broadcast] a").click()
    await expect(alices.locator(BADGE)).to_have_text("1")
    await expect(alices.locator(f"{ITEMS}[data-broadcast]")).not_to_have_class(
        "notification-bell-item unread"
    )
    await alices.wait_for_function(
        "document.querySelector('.notification-bell-item[data-broadcast]')"
        ".getAttribute('data-notification') !== ''"
    )
    await expect(bobs.locator(BADGE)).to_have_text("1")
    await expect(bobs.locator(f"{ITEMS}[data-broadcast].unread")).to_have_count(1)
    assert await unread_of_the_broadcast() == {"alice": False}

    await bobs.reload()
    await expect(bobs.locator(BADGE)).to_have_text("1")
    assert await unread_of_the_broadcast() == {"alice": False, "bob": True}
