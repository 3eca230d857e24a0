import pytest
from django.core.checks.registry import registry

from notifications.checks import check_channel_layer, check_settings, check_sqlite


def ids(settings_overrides, settings):
    for name, value in settings_overrides.items():
        setattr(settings, name, value)
    messages = [*check_settings(), *check_channel_layer(), *check_sqlite()]
    return sorted({message.id for message in messages})


def test_the_checks_are_registered():
    assert {check_settings, check_channel_layer, check_sqlite} <= set(registry.get_checks())


REDIS = "channels_redis.core.RedisChannelLayer"
GOOD_REDIS = {
    "default": {
        "BACKEND": REDIS,
        "CONFIG": {
            "hosts": [{"address": "redis://x", "socket_timeout": None, "max_connections": 10000}],
            "capacity": 10000,
        },
    }
}


def test_demo_settings_pass(settings):
    assert ids({}, settings) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"NOTIFICATIONS": []}, ["notifications.E001"]),
        ({"NOTIFICATIONS": {"HEARTBEAT_INTERVALL": 5}}, ["notifications.E001"]),
        ({"NOTIFICATIONS": {"HEARTBEAT_INTERVAL": 0}}, ["notifications.E002"]),
        ({"NOTIFICATIONS": {"MAX_FRAME_BYTES": 1.5}}, ["notifications.E002"]),
        ({"NOTIFICATIONS": {"SSE_KEEPALIVE": "15"}}, ["notifications.E002"]),
        ({"NOTIFICATIONS": {"RETENTION_DAYS": -1}}, ["notifications.E002"]),
        ({"NOTIFICATIONS": {"STREAM_POLICY": "no.such.Policy"}}, ["notifications.E003"]),
        ({"CHANNEL_LAYERS": {}}, ["notifications.E004"]),
        ({"NOTIFICATIONS": {"CHANNEL_LAYER": "other"}}, ["notifications.E004"]),
        ({"CHANNEL_LAYERS": GOOD_REDIS}, []),
        (
            {"CHANNEL_LAYERS": {"default": {"BACKEND": REDIS, "CONFIG": {"capacity": 10000}}}},
            ["notifications.W001", "notifications.W002"],
        ),
        (
            {"CHANNEL_LAYERS": {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}},
            ["notifications.W003"],
        ),
    ],
)
def test_misconfiguration_is_reported_with_stable_ids(settings, overrides, expected):
    assert ids(overrides, settings) == expected


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_sqlite_without_immediate_transactions_is_warned(settings):
    databases = {**settings.DATABASES}
    if databases["default"]["ENGINE"] != "django.db.backends.sqlite3":
        databases["default"] = {**databases["default"], "ENGINE": "django.db.backends.sqlite3"}
    databases["default"] = {**databases["default"], "OPTIONS": {}}
    assert ids({"DATABASES": databases}, settings) == ["notifications.W004"]
