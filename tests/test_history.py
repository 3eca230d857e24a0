import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory

from notifications.api import publish
from notifications.history import history, recent
from notifications.log import Stream
from notifications.policy import Forbidden, NotAuthenticated

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(django_user_model):
    return (
        django_user_model.objects.create_user("alice"),
        django_user_model.objects.create_user("staff", is_staff=True),
    )


def test_recent_and_history_read_what_the_policy_allows(users):
    alice, staff = users
    stream = f"user:{alice.pk}"
    for n in range(5):
        publish(stream, "note", {"n": n})
    page = recent(alice, stream, 2)
    assert (page.head, [e["seq"] for e in page.events]) == (5, [4, 5])
    assert page.cursors == {stream: 5}
    assert [e["data"]["n"] for e in history(alice, stream, since=1, limit=2).events] == [1, 2]
    with pytest.raises(Forbidden):
        recent(staff, stream)
    with pytest.raises(NotAuthenticated):
        recent(AnonymousUser(), stream)


def test_history_keeps_what_retention_kept(users):
    alice, _ = users
    stream = f"user:{alice.pk}"
    for n in range(5):
        publish(stream, "note", {"n": n})
    Stream.objects.filter(key=stream).update(pruned_seq=3)
    page = history(alice, stream, since=0)
    assert (page.pruned, [e["seq"] for e in page.events]) == (3, [1, 2, 3, 4, 5])
    assert [e["seq"] for e in recent(alice, stream, 10).events] == [4, 5]


def render(source, user):
    request = RequestFactory().get("/")
    request.user = user
    return Template("{% load live %}" + source).render(Context({"request": request}))


def test_the_template_tag_renders_only_what_the_pages_user_may_read(users):
    alice, staff = users
    publish(f"user:{alice.pk}", "note", {"text": "for alice only"})
    source = (
        '{% recent_events stream 5 as page %}{{ page.refused|default:"ok" }}:'
        "{% for event in page.events %}{{ event.data.text }}{% endfor %}"
    )
    mine = render(source.replace("stream", f'"user:{alice.pk}"', 1), alice)
    theirs = render(source.replace("stream", f'"user:{alice.pk}"', 1), staff)
    garbage = render(source.replace("stream", '"Not A Key"', 1), alice)
    assert mine == "ok:for alice only"
    assert theirs == "forbidden:"
    assert garbage == "invalid_stream:"
