import json
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test import RequestFactory

from notifications.inbox.api import EVERYONE, notify

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(django_user_model):
    return django_user_model.objects.create_user("ann")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob")


def render(source, user):
    request = RequestFactory().get("/")
    request.user = user
    return Template("{% load notifications_tags %}" + source).render(
        Context({"request": request, "user": user})
    )


def test_each_user_sees_their_own_unread_count_one_page_after_another(ann, bob):
    notify(ann, "a")
    for _ in range(3):
        notify(bob, "b")
    tag = "{% notifications_unread as count %}[{{ count }}]{% live_notify_badge %}"
    assert render(tag, ann) == '[1]<span class="live_notify_badge" data-notify-badge>1</span>'
    assert render(tag, bob) == '[3]<span class="live_notify_badge" data-notify-badge>3</span>'
    assert render(tag, ann).startswith("[1]")
    assert render(tag, AnonymousUser()) == "[]"
    assert render("{{ user|has_notification }}", bob) == "True"


def test_the_callbacks_tag_subscribes_the_page_to_its_users_stream(ann):
    html = render(
        "{% register_notify_callbacks callbacks='fill_notification_badge,mine' fetch=7 %}", ann
    )
    assert 'src="/static/notifications/live.js"' in html
    config = json.loads(
        re.search(r'data-notify-config="([^"]+)"', html).group(1).replace("&quot;", '"')
    )
    assert config["stream"] == f"user:{ann.pk}"
    assert (config["since"], config["broadcastSince"]) == (0, 0)
    assert config["callbacks"] == ["fill_notification_badge", "mine"]
    assert (config["fetchCount"], config["apiUrl"]) == (7, "/live/api/unread_list/")
    assert render("{% register_notify_callbacks %}", AnonymousUser()) == ""
    assert "live.js" not in render("{% register_notify_callbacks client=False %}", ann)


def test_django_notifications_hqs_test_template_renders(ann):
    request = RequestFactory().get("/")
    request.user = ann
    html = render_to_string("notifications/test_tags.html", {"request": request, "user": ann})
    assert "live_notify_list" in html


def test_pages_subscribe_from_where_the_streams_stood_before_they_read_the_inbox(ann, bob):
    notify(ann, "one")
    notify(ann, "two")
    notify(bob, "elsewhere")
    notify(EVERYONE, "to all")
    bell = render("{% notification_bell %}", ann)
    assert f'data-stream="user:{ann.pk}" data-since="2"' in bell
    assert 'data-broadcast-stream="broadcast" data-broadcast-since="1"' in bell
    assert 'data-notification="' in bell and "to all" in bell
    html = render("{% register_notify_callbacks %}", ann)
    config = json.loads(
        re.search(r'data-notify-config="([^"]+)"', html).group(1).replace("&quot;", '"')
    )
    assert (config["since"], config["broadcastSince"]) == (3, 1)
