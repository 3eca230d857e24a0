import pytest
from asgiref.sync import sync_to_async

from notifications.api import apublish
from notifications.inbox.api import notify
from tests.e2e.conftest import shown_seqs, wait_for_state

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

BADGE = ".notification-bell-badge"


def feed(stream: str) -> str:
    """The events of the home page's card of `stream`, newest first."""
    return f'.feed[data-stream="{stream}"] li.event'


async def test_alice_signs_in_through_the_login_form_and_sees_her_stream_live(
    daphne, make_user, redis_layer, open_page
):
    alice, _ = await make_user("alice", password="alice")
    stream = f"user:{alice.pk}"
    await apublish(stream, "notification.created", {"title": "<b>Welcome</b> aboard"})
    server = daphne()
    page = await open_page(server, None, "/accounts/login/")
    await page.fill("#id_username", "alice")
    await page.fill("#id_password", "alice")
    async with page.expect_navigation(url=server.http + "/") as navigation:
        await page.click("main button[type=submit]")
    rendered = await (await navigation.value).text()
    assert 'data-seq="1"' in rendered and "&lt;b&gt;Welcome&lt;/b&gt; aboard" in rendered
    assert await page.inner_text("#username") == "alice"
    assert await shown_seqs(page, feed(stream)) == [1]

    await wait_for_state(page, "open", "#connection")
    await apublish(stream, "notification.created", {"title": "<img src=x> Live one"})
    await page.wait_for_selector(f'{feed(stream)}[data-seq="2"]', timeout=2000)
    assert await shown_seqs(page, feed(stream)) == [2, 1]
    assert "<img src=x> Live one" in await page.inner_text(f'{feed(stream)}[data-seq="2"]')
    assert "<b>Welcome</b> aboard" in await page.inner_text(f'{feed(stream)}[data-seq="1"]')
    assert await page.locator(".feed img, .feed b").count() == 0


async def test_wrong_credentials_are_shown_on_the_login_page(
    daphne, make_user, redis_layer, open_page
):
    await make_user("alice", password="alice")
    server = daphne()
    page = await open_page(server, None, "/accounts/login/")
    await page.fill("#id_username", "alice")
    await page.fill("#id_password", "wrong")
    await page.click("main button[type=submit]")
    await page.wait_for_selector(".notice.error")
    assert page.url.startswith(server.http + "/accounts/login/")
    assert await page.locator("#connection").count() == 0


async def test_a_regular_user_gets_403_for_the_console_and_sees_no_console_link(
    daphne, make_user, redis_layer, open_page
):
    _, session = await make_user("bob")
    server = daphne()
    page = await open_page(server, session, "/")
    assert await page.locator(".nav a").all_inner_texts() == ["Home", "Inbox", "Chat", "Tasks"]
    response = await page.goto(server.http + "/console/")
    assert response.status == 403
    assert await page.locator(".nav a").all_inner_texts() == ["Home", "Inbox", "Chat", "Tasks"]
    assert await page.locator('a[href="/console/"]').count() == 0


async def test_staff_see_the_console_and_admin_links(daphne, make_user, redis_layer, open_page):
    _, session = await make_user("admin", is_staff=True)
    server = daphne()
    page = await open_page(server, session, "/")
    assert await page.locator(".nav a").all_inner_texts() == [
        "Home",
        "Inbox",
        "Chat",
        "Tasks",
        "Live console",
        "Admin",
    ]


async def test_the_bell_shows_the_inbox_and_reading_in_one_tab_clears_it_in_the_other(
    daphne, make_user, redis_layer, open_page
):
    alice, session = await make_user("alice")
    bob, _ = await make_user("bob")
    await sync_to_async(notify)(alice, "sent you a message", actor=bob)
    server = daphne()
    first = await open_page(server, session, "/")
    second = await open_page(server, session, "/")
    for page in (first, second):
        await wait_for_state(page, "open", "#connection")
        assert await page.inner_text(BADGE) == "1"

    await sync_to_async(notify)(alice, "mentioned you", actor=bob, url="/tasks/")
    await apublish(f"user:{alice.pk}", "profile.updated", {"text": "not a notification"})
    for page in (first, second):
        await page.locator(BADGE).filter(has_text="2").wait_for(timeout=2000)
    await first.click(".notification-bell-button")
    items = first.locator(".notification-bell-item")
    texts = [text.splitlines()[0] for text in await items.all_inner_texts()]
    assert texts == ["bob mentioned you", "bob sent you a message"]
    async with first.expect_navigation(url=server.http + "/tasks/"):
        await items.first.locator("a").click()
    await second.locator(BADGE).filter(has_text="1").wait_for(timeout=2000)
    assert await second.locator(".notification-bell-item.unread").count() == 1
    assert await first.inner_text(BADGE) == "1"

    await second.click(".notification-bell-button")
    async with second.expect_navigation():
        await second.click(".notification-bell-mark-all")
    assert await second.locator(BADGE).is_hidden()
    await first.wait_for_selector(BADGE, state="hidden", timeout=2000)
    assert await first.locator(".notification-bell-item.unread").count() == 0


@pytest.mark.parametrize(
    "other_tab",
    [
        pytest.param("/", id="home"),
        pytest.param("/console/?stream=broadcast&transport=sse", id="console-over-sse"),
    ],
)
async def test_logout_in_one_tab_ends_the_session_in_another_tab(
    daphne, make_user, redis_layer, open_page, other_tab
):
    _, session = await make_user("admin", is_staff=True)
    server = daphne()
    first = await open_page(server, session, "/")
    second = await open_page(server, session, other_tab)
    await wait_for_state(first, "open", "#connection")
    await wait_for_state(second, "open", "#connection")

    async with first.expect_navigation(url=server.http + "/"):
        await first.click(".logout button")
    assert await first.locator("a.button", has_text="Sign in").count() == 2

    await second.locator("#session-ended").wait_for(timeout=5000)
    await wait_for_state(second, "closed", "#connection", timeout=1000)
    if other_tab.startswith("/console/"):
        await wait_for_state(second, "closed", timeout=1000)
        assert "session ended" in await second.inner_text("#state-message")
