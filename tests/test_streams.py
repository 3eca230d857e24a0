import pytest

from notifications.streams import InvalidStream, group_name, split_stream, validate_stream


@pytest.mark.parametrize(
    "key", ["broadcast", "user:1", "room:lobby", "task:6f1c-9a", "a:b:c", "room:x.y@z"]
)
def test_valid_stream_keys(key):
    assert validate_stream(key) == key


@pytest.mark.parametrize(
    "key", ["", "User:1", "user:", "user: 1", "room:a/b", "x" * 201, 5, None, "room:\n", "room:ü"]
)
def test_invalid_stream_keys(key):
    with pytest.raises(InvalidStream):
        validate_stream(key)


def test_group_names_are_valid_layer_names_and_distinct():
    names = {group_name(key) for key in ["room:a.b", "room:a:b", "room:a_b"]}
    assert len(names) == 3
    assert all(len(name) < 100 and name.replace(".", "").isalnum() for name in names)


def test_split_stream():
    assert split_stream("room:lobby") == ("room", "lobby")
    assert split_stream("a:b:c") == ("a", "b:c")
    assert split_stream("broadcast") == ("broadcast", "")
