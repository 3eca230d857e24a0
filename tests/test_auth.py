import asyncio
import time

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.core import signing
from django.utils import timezone

from notifications.api import apublish
from notifications.auth import Credential, invalid_credentials, issue_token, user_from_token
from tests.clients import SseClient, WebSocketClient, post_form

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_token_names_its_user_until_it_expires_or_the_password_changes(
    django_user_model, settings
):
    alice = django_user_model.objects.create_user("alice", password="old-password")
    token = issue_token(alice)
    user, credential = user_from_token(token)
    assert user == alice and credential == Credential("token", str(alice.pk), credential.secret)
    assert user_from_token(token + "x")[1] is None
    assert user_from_token(signing.dumps({"u": str(alice.pk), "h": "forged"}))[1] is None
    alice.set_password("new-password")
    alice.save()
    assert user_from_token(token)[1] is None
    assert invalid_credentials([credential]) == {credential}
    settings.NOTIFICATIONS = {"TOKEN_MAX_AGE": 1}
    fresh = issue_token(alice)
    assert user_from_token(fresh)[1] is not None
    time.sleep(2.1)
    assert user_from_token(fresh)[1] is None


def test_an_inactive_user_gets_no_token_connection(django_user_model):
    bob = django_user_model.objects.create_user("bob")
    token = issue_token(bob)
    django_user_model.objects.filter(pk=bob.pk).update(is_active=False)
    assert not user_from_token(token)[0].is_authenticated


async def events_after(client, seconds):
    try:
        return [await client.next("event", timeout=seconds)]
    except TimeoutError:
        return []


@pytest.mark.live
async def test_logout_closes_the_websocket_with_1008_and_ends_sse_before_anything_else_arrives(
    daphne, make_user, redis_layer
):
    alice, session = await make_user("alice")
    other_tab_of_another_login = (await make_user("alice2"))[1]
    server = daphne(NOTIFICATIONS_SESSION_REVALIDATE_INTERVAL="60")
    stream = f"user:{alice.pk}"
    ws = await WebSocketClient.connect(server.ws, f"/ws/live/?stream={stream}", session=session)
    await ws.next("subscribed")
    sse = await SseClient.open(f"{server.http}/live/events/{stream}/?since=0", session=session)
    bystander = await WebSocketClient.connect(
        server.ws, "/ws/live/?stream=broadcast", session=other_tab_of_another_login
    )
    await bystander.next("subscribed")

    response = await post_form(server, session, "/accounts/logout/")
    assert response.status_code in (200, 302)
    await apublish(stream, "secret", {"after": "logout"})
    await apublish("broadcast", "announcement")

    async with asyncio.timeout(5):
        assert await ws.closed == 1008
    assert [frame for frame in ws.pending() if frame["type"] == "event"] == []
    assert [(m.event, m.json) for m in await sse.until_end()] == [
        ("ended", {"type": "ended", "reason": "session_ended"})
    ]
    assert (await bystander.next("event"))["event"] == "announcement"
    await bystander.close()
    await sse.close()


@pytest.mark.live
@pytest.mark.parametrize("end", ["expired", "deactivated"])
async def test_an_expired_session_or_a_deactivated_user_is_closed_at_revalidation(
    daphne, make_user, redis_layer, django_user_model, end
):
    alice, session = await make_user("alice")
    server = daphne(NOTIFICATIONS_SESSION_REVALIDATE_INTERVAL="1")
    ws = await WebSocketClient.connect(server.ws, "/ws/live/?stream=broadcast", session=session)
    await ws.next("subscribed")
    sse = await SseClient.open(f"{server.http}/live/events/broadcast/", session=session)
    await apublish("broadcast", "before")
    assert (await ws.next("event"))["event"] == "before"
    assert (await sse.next()).event == "before"
    if end == "expired":
        await Session.objects.filter(session_key=session).aupdate(expire_date=timezone.now())
    else:
        await django_user_model.objects.filter(pk=alice.pk).aupdate(is_active=False)
    async with asyncio.timeout(5):
        assert await ws.closed == 1008
    assert [message.event for message in await sse.until_end()] == ["ended"]
    await sse.close()
    with pytest.raises(websockets.InvalidStatus):
        await WebSocketClient.connect(server.ws, session=session)


@pytest.mark.live
async def test_a_token_connects_both_transports_without_cookies_under_the_same_policy(
    daphne, make_user, redis_layer
):
    alice, session = await make_user("alice")
    bob, _ = await make_user("bob")
    server = daphne()
    async with httpx.AsyncClient(cookies={"sessionid": session}) as http:
        issued = (await http.get(f"{server.http}/live/token/")).json()
        anonymous = await httpx.AsyncClient().get(f"{server.http}/live/token/")
    assert issued["expires_in"] == 300 and anonymous.status_code == 302
    token = issued["token"]

    connection = await websockets.connect(
        f"{server.ws}/ws/live/?token={token}&stream=user:{alice.pk}"
    )
    ws = WebSocketClient(connection)
    await ws.next("subscribed")
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"{server.ws}/ws/live/?token={token}&stream=user:{bob.pk}")
    assert refused.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(f"{server.ws}/ws/live/?token=forged&stream=broadcast")

    sse = await SseClient.open(
        f"{server.http}/live/events/user:{alice.pk}/", Authorization=f"Bearer {token}"
    )
    assert sse.response.status_code == 200
    async with httpx.AsyncClient() as http:
        forbidden = await http.get(f"{server.http}/live/events/user:{bob.pk}/?token={token}")
    assert forbidden.status_code == 403
    await apublish(f"user:{alice.pk}", "note", {"n": 1})
    assert (await ws.next("event"))["data"] == {"n": 1}
    assert (await sse.next()).json["data"] == {"n": 1}
    await ws.close()
    await sse.close()


@pytest.mark.live
async def test_the_api_issues_tokens_to_its_own_authentication(daphne, make_user):
    _, session = await make_user("alice")
    server = daphne()
    cookies = {"sessionid": session, "csrftoken": "a" * 32}
    async with httpx.AsyncClient(cookies=cookies) as http:
        response = await http.post(f"{server.http}/api/token/", headers={"X-CSRFToken": "a" * 32})
        refused = await httpx.AsyncClient().post(f"{server.http}/api/token/")
    assert response.status_code == 200 and refused.status_code == 403
    user, _ = await sync_to_async(user_from_token)(response.json()["token"])
    assert user.get_username() == "alice"
