import re

from django.template import Context, Template
from django.test import RequestFactory


def render(source, **context):
    return Template("{% load live %}" + source).render(Context(context))


def attributes(html):
    return dict(re.findall(r'([\w-]+)="([^"]*)"', html))


def test_script_tag_passes_urls_cursors_and_settings(settings):
    settings.NOTIFICATIONS = {"HEARTBEAT_INTERVAL": 30}
    html = render("{% live_client cursors=cursors %}", cursors={"user:1": 12, "room:<x>": 3})
    assert html.startswith("<script") and html.endswith("></script>")
    found = attributes(html)
    assert found["src"] == "/static/notifications/live.js"
    assert found["data-websocket-url"] == "/ws/live/"
    assert found["data-events-url"] == "/live/events/"
    assert found["data-heartbeat"] == "30.0"
    assert found["data-transport"] == "websocket"
    assert found["data-cursors"] == "{&quot;user:1&quot;: 12, &quot;room:&lt;x&gt;&quot;: 3}"
    assert "nonce" not in found


def test_csp_nonce_from_context_or_request():
    assert attributes(render("{% live_client %}", csp_nonce="abc"))["nonce"] == "abc"
    request = RequestFactory().get("/")
    request.csp_nonce = "from-request"
    assert (
        attributes(render("{% live_client transport='sse' %}", request=request))["nonce"]
        == "from-request"
    )
