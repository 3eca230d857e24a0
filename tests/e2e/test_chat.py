"""Chat in Chromium: two users in two browser contexts talk live, one of them through a network
cut; edits, typing, who is here, unread badges on the rooms list, and text that stays text."""

import pytest
from asgiref.sync import sync_to_async
from playwright.async_api import Page, expect

from notifications.chat.api import post_message
from notifications.chat.models import Message, Room
from tests.e2e.conftest import save_screenshot, wait_for_state

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

MESSAGES = "#messages li.message"
BODIES = f"{MESSAGES} .message-body"
XSS = '<img src=x onerror="window.xssRan = 1"><script>window.xssRan = 2</script>'


@sync_to_async
def make_room(slug: str, name: str, *posts: tuple[object, str]) -> Room:
    room = Room.objects.create(slug=slug, name=name)
    for author, body in posts:
        post_message(room, author, body)
    return room


@sync_to_async
def stored(slug: str) -> list[str]:
    return list(
        Message.objects.filter(room__slug=slug).order_by("seq").values_list("body", flat=True)
    )


async def open_room(open_page, server, session, slug: str = "general") -> Page:
    page = await open_page(server, session, f"/chat/{slug}/")
    await wait_for_state(page, "open", "#connection")
    await expect(page.locator("#messages-loading")).to_be_hidden()
    return page


async def write(page: Page, text: str) -> None:
    await page.fill("#composer-text", text)
    await page.press("#composer-text", "Enter")


async def test_two_users_chat_live_through_a_network_cut_and_see_each_message_once(
    daphne, make_user, redis_layer, open_page
):
    alice, alice_session = await make_user("alice")
    bob, bob_session = await make_user("bob")
    await make_room("general", "General", (alice, "Morning! Anyone around?"))
    server = daphne(NOTIFICATIONS_PRESENCE_GRACE="1")
    alices = await open_room(open_page, server, alice_session)
    bobs = await open_room(open_page, server, bob_session)
    conversation = ["Morning! Anyone around?"]
    for page in (alices, bobs):
        await expect(page.locator(BODIES)).to_have_text(conversation)
        await expect(page.locator("#presence .presence-name")).to_have_text(
            ["alice (you)" if page is alices else "alice", "bob (you)" if page is bobs else "bob"]
        )

    await write(alices, "Hi Bob, are you there?")
    await write(bobs, "Hi Alice! Yes, just got in.")
    conversation += ["Hi Bob, are you there?", "Hi Alice! Yes, just got in."]
    for page in (alices, bobs):
        await expect(page.locator(BODIES)).to_have_text(conversation)
    await expect(alices.locator(f"{MESSAGES}.mine")).to_have_count(2)

    await alices.context.set_offline(True)
    await wait_for_state(alices, "offline", "#connection")
    await write(alices, "My train is in a tunnel")
    await write(alices, "so these two wait until I am back")
    pending = alices.locator(f'{MESSAGES}[data-status="pending"]')
    await expect(pending).to_have_count(2)
    await expect(pending.locator(".message-body")).to_have_text(
        ["My train is in a tunnel", "so these two wait until I am back"]
    )
    client_ids = await pending.evaluate_all("items => items.map(item => item.dataset.clientId)")
    assert all(client_ids) and len(set(client_ids)) == 2
    await expect(pending.first.locator(".message-status")).to_have_text(
        "Waiting for the connection"
    )
    await expect(bobs.locator(BODIES)).to_have_text(conversation)

    await alices.context.set_offline(False)
    await wait_for_state(alices, "open", "#connection", timeout=30_000)
    conversation += ["My train is in a tunnel", "so these two wait until I am back"]
    for page in (alices, bobs):
        await expect(page.locator(BODIES)).to_have_text(conversation)
        await expect(page.locator(f'{MESSAGES}:not([data-status="sent"])')).to_have_count(0)
    confirmed = alices.locator(f'{MESSAGES}[data-client-id="{client_ids[0]}"]')
    await expect(confirmed).to_have_attribute("data-status", "sent")
    seqs = await alices.locator(MESSAGES).evaluate_all(
        "items => items.map(item => Number(item.dataset.seq))"
    )
    assert all(seq > 0 for seq in seqs) and seqs == sorted(set(seqs))
    assert len(seqs) == len(conversation)
    assert await stored("general") == conversation

    mine = alices.locator(MESSAGES, has_text="Hi Bob, are you there?")
    await mine.hover()
    await mine.locator(".message-edit").click()
    await mine.locator(".message-editor-text").fill("Hi Bob, are you there? (edited on the train)")
    await mine.locator(".message-editor-text").press("Enter")
    conversation[1] = "Hi Bob, are you there? (edited on the train)"
    for page in (alices, bobs):
        await expect(page.locator(BODIES)).to_have_text(conversation)
        await expect(page.locator(f"{MESSAGES}.edited .message-status")).to_have_text("edited")
    await expect(bobs.locator(f"{MESSAGES} .message-edit:visible")).to_have_count(1)

    await bobs.fill("#composer-text", "Sounds good")
    await expect(alices.locator("#typing")).to_have_text("bob is typing…")
    await save_screenshot(alices, "chat-room")
    await expect(alices.locator("#typing")).to_have_text("", timeout=10_000)
    await bobs.fill("#composer-text", "Sounds good, see you at ten")
    await expect(alices.locator("#typing")).to_have_text("bob is typing…")
    await bobs.press("#composer-text", "Enter")
    conversation.append("Sounds good, see you at ten")
    await expect(alices.locator(BODIES)).to_have_text(conversation)
    assert await alices.inner_text("#typing") == ""
    await expect(bobs.locator(BODIES)).to_have_text(conversation)
    assert await stored("general") == conversation

    await expect(alices.locator(f'#presence [data-user="{bob.pk}"]')).to_have_count(1)
    await bobs.context.close()
    await expect(alices.locator(f'#presence [data-user="{bob.pk}"]')).to_have_count(0)
    await expect(alices.locator("#presence .presence-name")).to_have_text(["alice (you)"])
    await expect(alices.locator("#presence-empty")).to_be_visible()


async def test_a_message_of_markup_is_shown_as_text_and_runs_nothing(
    daphne, make_user, redis_layer, open_page
):
    _, alice_session = await make_user("alice")
    _, bob_session = await make_user("bob")
    await make_room("general", "General")
    server = daphne()
    alices = await open_room(open_page, server, alice_session)
    bobs = await open_room(open_page, server, bob_session)
    await write(alices, XSS)
    for page in (alices, bobs):
        await expect(page.locator(BODIES)).to_have_text([XSS])
        assert await page.locator("#messages img, #messages script").count() == 0
    assert await stored("general") == [XSS]

    rooms = await open_page(server, bob_session, "/chat/")
    await expect(rooms.locator(".room-latest-body")).to_have_text(XSS)
    assert await rooms.locator("#rooms img, #rooms script").count() == 0
    for page in (alices, bobs, rooms):
        assert await page.evaluate("window.xssRan") is None


async def test_the_rooms_list_counts_unread_messages_live_and_clears_when_read(
    daphne, make_user, redis_layer, open_page
):
    alice, alice_session = await make_user("alice")
    bob, bob_session = await make_user("bob")
    await make_room(
        "general",
        "General",
        (bob, "The release is out 🎉"),
        (bob, "Thanks to everyone who tested it"),
    )
    await make_room("random", "Random", (alice, "Lunch at noon?"))
    await make_room("design", "Design review")
    server = daphne()
    rooms = await open_page(server, alice_session, "/chat/")
    await wait_for_state(rooms, "open", "#connection")
    general = rooms.locator('.room-item[data-room="general"]')
    random = rooms.locator('.room-item[data-room="random"]')
    await expect(rooms.locator(".room-name")).to_have_text(["Design review", "General", "Random"])
    await expect(general.locator(".room-unread")).to_have_text("2")
    await expect(random.locator(".room-unread")).to_be_hidden()

    bobs = await open_room(open_page, server, bob_session, "random")
    await write(bobs, "Sure, see you there")
    await expect(random.locator(".room-unread")).to_have_text("1")
    await expect(random.locator(".room-latest")).to_have_text("bob Sure, see you there")
    await save_screenshot(rooms, "chat-rooms")

    reading = await open_room(open_page, server, alice_session, "general")
    await expect(reading.locator(BODIES)).to_have_count(2)
    await expect(general.locator(".room-unread")).to_be_hidden()
    await expect(random.locator(".room-unread")).to_have_text("1")
    await rooms.reload()
    await expect(general.locator(".room-unread")).to_be_hidden()
    await expect(random.locator(".room-unread")).to_have_text("1")
