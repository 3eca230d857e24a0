import json

import pytest

from notifications.wire import LiveEvent, encode_sse


def parse(raw: bytes) -> list[dict[str, list[str]]]:
    """Parse SSE the way a browser does: messages end at a blank line."""
    messages, fields = [], {}
    for line in raw.decode().replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line == "":
            if fields:
                messages.append(fields)
            fields = {}
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
    return messages


def test_event_is_one_message_with_id_type_and_data():
    raw = encode_sse(id=7, event="chat.message", data='{"a":1}')
    assert raw == b'id: 7\nevent: chat.message\ndata: {"a":1}\n\n'


@pytest.mark.parametrize("evil", ["\n", "\r", "\r\n", "\n\n", "\0"])
def test_line_breaks_and_nul_cannot_inject_fields_or_messages(evil):
    raw = encode_sse(
        id=f"1{evil}id: 999",
        event=f"x{evil}data: injected",
        data=f"first{evil}event: evil{evil}{evil}id: 5",
        comment=f"c{evil}data: injected",
    )
    messages = parse(raw)
    assert len(messages) == 1
    message = messages[0]
    assert message["id"] == ["1id: 999"]
    assert message["event"] == ["xdata: injected"]
    assert "\0" not in raw.decode()
    data = f"first{evil}event: evil{evil}{evil}id: 5".replace("\0", "")
    assert "\n".join(message["data"]) == data.replace("\r\n", "\n").replace("\r", "\n")
    assert set(message) == {"id", "event", "data", ""}


def test_multiline_data_survives_as_several_data_lines():
    messages = parse(encode_sse(data="a\nb\r\nc"))
    assert messages == [{"data": ["a", "b", "c"]}]


def test_retry_and_comment():
    assert encode_sse(retry=2000, comment="hello") == b": hello\nretry: 2000\n\n"


def test_envelope_is_encoded_once_and_shared():
    event = LiveEvent.create(
        "room:lobby", 3, "chat.message", {"text": "hi\nthere"}, "2026-01-01T00:00:00+00:00"
    )
    assert json.loads(event.payload) == {
        "type": "event",
        "stream": "room:lobby",
        "seq": 3,
        "event": "chat.message",
        "data": {"text": "hi\nthere"},
        "at": "2026-01-01T00:00:00+00:00",
    }
    assert event.sse is event.sse
    assert parse(event.sse) == [{"id": ["3"], "event": ["chat.message"], "data": [event.payload]}]


def test_layer_message_round_trip():
    event = LiveEvent.create("user:1", None, "typing", None, "2026-01-01T00:00:00+00:00")
    assert LiveEvent.from_layer_message(event.as_layer_message()) == event
