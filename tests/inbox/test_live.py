"""The inbox over real sockets: daphne processes of the demo site, a private redis-server."""

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User

from notifications.inbox.api import notify
from tests.clients import WebSocketClient, post_form

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


async def test_marking_all_read_in_one_tab_updates_the_count_in_the_users_other_tabs(
    daphne, make_user
):
    ann, ann_session = await make_user("ann")
    bob, bob_session = await make_user("bob")
    one, two = daphne("one"), daphne("two")
    tabs = [
        await WebSocketClient.connect(server.ws, f"/ws/live/?stream=user:{ann.pk}", session=s)
        for server, s in ((one, ann_session), (two, ann_session))
    ]
    other = await WebSocketClient.connect(
        one.ws, f"/ws/live/?stream=user:{bob.pk}", session=bob_session
    )
    for client in (*tabs, other):
        await client.next("subscribed")
    refused = await other.subscribe(f"user:{ann.pk}", since=0)
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    await sync_to_async(notify)(User.objects.filter(pk__in=[ann.pk, bob.pk]), "hello")
    await sync_to_async(notify)(ann, "again")
    for tab in tabs:
        created = await tab.events(2)
        assert [e["data"]["unread_count"] for e in created] == [1, 2]
    response = await post_form(one, ann_session, "/live/mark-all-as-read/")
    assert response.status_code == 302
    for tab in tabs:
        [read] = await tab.events(1)
        assert (read["event"], read["data"]) == ("notification.read_all", {"unread_count": 0})
    [bobs] = await other.events(1)
    assert (bobs["stream"], bobs["data"]["unread_count"]) == (f"user:{bob.pk}", 1)
    assert not [f for f in other.pending() if f["type"] == "event"]
    for client in (*tabs, other):
        await client.close()
