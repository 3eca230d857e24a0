"""Settings of the demo site. Embedded defaults: SQLite and the in-memory channel layer.
`DATABASE_URL` switches to PostgreSQL, `REDIS_URL` to channels-redis (a comma-separated list
of URLs shards the layer over several Redis hosts)."""

import os
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import dj_database_url

from notifications.conf import DEFAULTS

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SECRET_KEY", "demo-only-insecure-key-change-me")
DEBUG = os.environ.get("DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    *([] if find_spec("django.tasks") else ["django_tasks"]),
    "django_tasks_db",
    "notifications",
]

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "libraries": {"demo": "project.templatetags.demo"},
        },
    },
]

SQLITE_PATH = Path(os.environ.get("SQLITE_PATH", BASE_DIR / "var" / "db.sqlite3"))
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=0)}
    if "TEST_DATABASE_NAME" in os.environ:
        DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}
else:
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            "OPTIONS": SQLITE_OPTIONS,
            "TEST": {"NAME": str(SQLITE_PATH.with_name("test-" + SQLITE_PATH.name))},
        }
    }

REDIS_URL = os.environ.get("REDIS_URL")
REDIS_SHARDS = [url for url in (REDIS_URL or "").split(",") if url]
if REDIS_SHARDS and os.environ.get("REDIS_LAYER") == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": url, "socket_timeout": None} for url in REDIS_SHARDS]},
        }
    }
elif REDIS_SHARDS:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": url,
                        "socket_timeout": None,
                        "socket_connect_timeout": 5,
                        "max_connections": 10000,
                    }
                    for url in REDIS_SHARDS
                ],
                "capacity": 10000,
                "expiry": 60,
                "group_expiry": 86400,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10000},
        }
    }

NOTIFICATIONS: dict[str, Any] = {
    key: (int if value.isdigit() else float)(value)
    for key, default in DEFAULTS.items()
    if isinstance(default, int | float) and (value := os.environ.get(f"NOTIFICATIONS_{key}"))
}

NOTIFICATIONS["CHAT_TASK"] = "notifications.tasks.demo.reply"
NOTIFICATIONS["STARTABLE_TASKS"] = [
    "notifications.tasks.demo.crunch_numbers",
    "notifications.tasks.demo.write_text",
]

if os.environ.get("NOTIFICATIONS_ALLOWED_ORIGINS"):
    NOTIFICATIONS["ALLOWED_ORIGINS"] = os.environ["NOTIFICATIONS_ALLOWED_ORIGINS"].split(",")

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "project" / "static"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"notifications": {"handlers": ["console"], "level": "INFO"}},
}
