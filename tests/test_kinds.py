import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications import kinds


@pytest.fixture
def clean_registry():
    before = dict(kinds.registered())
    yield
    for name in set(kinds.registered()) - set(before):
        kinds.unregister(name)
    for kind in before.values():
        kinds.register(kind, replace=True)


def test_the_app_registers_the_core_and_domain_kinds():
    assert {"user", "broadcast", "session", "room", "task"} <= set(kinds.registered())
    assert kinds.get("task").terminal_events >= {"task.succeeded", "task.failed"}


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("user:42", "user"),
        ("broadcast", "broadcast"),
        ("broadcast:x", None),
        ("room:lobby", "room"),
        ("room:a:b", None),
        ("session:" + "0" * 32, "session"),
        ("session:xyz", None),
        ("task:6f1c9a00-0000-4000-8000-000000000001", "task"),
        ("task:6f1c-9a", None),
        ("unknown:1", None),
    ],
)
def test_a_key_belongs_to_a_kind_only_in_the_shape_it_expects(key, kind):
    found = kinds.kind_of(key)
    assert (found.name if found else None) == kind


def test_a_kind_name_is_registered_once_unless_replaced(clean_registry):
    poll = kinds.register(kinds.StreamKind("poll"))
    assert kinds.register(poll) is poll
    with pytest.raises(ImproperlyConfigured, match="already registered"):
        kinds.register(kinds.StreamKind("poll", can_read=kinds.authenticated))
    kinds.register(kinds.StreamKind("poll", can_read=kinds.authenticated), replace=True)
    assert kinds.get("poll").can_read is kinds.authenticated
    assert kinds.register_default(kinds.StreamKind("poll")).can_read is kinds.authenticated


def test_a_frame_type_has_one_handler(clean_registry):
    async def handler(connection, frame):
        pass

    kinds.register(kinds.StreamKind("poll", frame_handlers={"poll.vote": handler}))
    assert kinds.frame_handler("poll.vote") is handler
    with pytest.raises(ImproperlyConfigured, match="already handled"):
        kinds.register(kinds.StreamKind("vote", frame_handlers={"poll.vote": handler}))
    kinds.unregister("poll")
    assert kinds.frame_handler("poll.vote") is None


def test_stream_keys_of_a_kind():
    assert kinds.get("room").stream("lobby") == "room:lobby"
    assert kinds.get("broadcast").stream() == "broadcast"
