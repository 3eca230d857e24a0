import importlib

import pytest
from django.core.checks.registry import registry

from notifications import checks

REDIS = "channels_redis.core.RedisChannelLayer"
GOOD_HOST = {"address": "redis://x", "socket_timeout": None, "max_connections": 10000}
GOOD_REDIS = {"default": {"BACKEND": REDIS, "CONFIG": {"hosts": [GOOD_HOST], "capacity": 10000}}}


def ids(settings_overrides, settings):
    for name, value in settings_overrides.items():
        setattr(settings, name, value)
    messages = [message for check in checks.CHECKS for message in check()]
    return sorted({message.id for message in messages})


def test_the_app_registers_its_checks_and_importing_them_registers_nothing():
    assert set(checks.CHECKS) <= set(registry.get_checks())
    before = len(registry.get_checks())
    importlib.reload(checks)
    assert len(registry.get_checks()) == before


def test_demo_settings_pass(settings):
    assert ids({}, settings) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"NOTIFICATIONS": []}, ["notifications.E001"]),
        ({"NOTIFICATIONS": {"HEARTBEAT_INTERVALL": 5}}, ["notifications.E005"]),
        ({"NOTIFICATIONS": {"HEARTBEAT_INTERVAL": 0}}, ["notifications.E002"]),
        ({"NOTIFICATIONS": {"MAX_FRAME_BYTES": 1.5}}, ["notifications.E002"]),
        ({"NOTIFICATIONS": {"SSE_KEEPALIVE": "15"}}, ["notifications.E002"]),
        ({"NOTIFICATIONS": {"RETENTION_DAYS": -1}}, ["notifications.E002"]),
        ({"NOTIFICATIONS": {"STREAM_POLICY": 5}}, ["notifications.E002"]),
        ({"NOTIFICATIONS": {"MAX_CONNECTIONS_PER_USER": 0}}, ["notifications.E002"]),
        ({"NOTIFICATIONS": {"STREAM_POLICY": "no.such.Policy"}}, ["notifications.E003"]),
        ({"CHANNEL_LAYERS": {}}, ["notifications.E004"]),
        ({"NOTIFICATIONS": {"CHANNEL_LAYER": "other"}}, ["notifications.E004"]),
        ({"NOTIFICATIONS": {"ALLOWED_ORIGINS": ["example.com"]}}, ["notifications.E006"]),
        (
            {"NOTIFICATIONS": {"ALLOWED_ORIGINS": ["https://example.com/app"]}},
            ["notifications.E006"],
        ),
        (
            {"NOTIFICATIONS": {"ALLOWED_ORIGINS": ["https://*.example.com", "http://a:8000"]}},
            [],
        ),
        ({"NOTIFICATIONS": {"ALLOWED_ORIGINS": "https://example.com"}}, ["notifications.E002"]),
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


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ({"default": "redis://localhost"}, ["notifications.E007"]),
        ({"default": {"BACKEND": REDIS, "CONFIG": None}}, ["notifications.E007"]),
        (
            {"default": {"BACKEND": REDIS, "CONFIG": {"hosts": "redis://x", "capacity": 10000}}},
            ["notifications.E007"],
        ),
        (
            {"default": {"BACKEND": REDIS, "CONFIG": {"hosts": [GOOD_HOST], "capacity": "lots"}}},
            ["notifications.E007"],
        ),
        (
            {
                "default": {
                    "BACKEND": REDIS,
                    "CONFIG": {
                        "hosts": ["redis://x", {**GOOD_HOST, "max_connections": "many"}],
                        "capacity": 10000,
                    },
                }
            },
            ["notifications.W001", "notifications.W002"],
        ),
        ([("default", {})], ["notifications.E004"]),
    ],
)
def test_a_malformed_channel_layer_is_reported_not_a_crash(settings, layers, expected):
    assert ids({"CHANNEL_LAYERS": layers}, settings) == expected


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
@pytest.mark.parametrize("options", [{}, None, "IMMEDIATE"])
def test_sqlite_without_immediate_transactions_is_warned(settings, options):
    databases = {**settings.DATABASES}
    if databases["default"]["ENGINE"] != "django.db.backends.sqlite3":
        databases["default"] = {**databases["default"], "ENGINE": "django.db.backends.sqlite3"}
    databases["default"] = {**databases["default"], "OPTIONS": options}
    assert ids({"DATABASES": databases}, settings) == ["notifications.W004"]


def test_without_channel_layers_events_are_stored_and_the_check_says_they_are_not_pushed(
    settings,
):
    del settings.CHANNEL_LAYERS
    assert ids({}, settings) == ["notifications.W005"]
    assert ids({"NOTIFICATIONS": {"CHANNEL_LAYER": "other"}}, settings) == ["notifications.E004"]
