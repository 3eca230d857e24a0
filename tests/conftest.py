from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from channels.layers import channel_layers
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test import Client

from notifications import routing
from tests.servers import DaphneServer, RedisServer, RedisShards, WorkerProcess


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI nothing may be skipped: a skip there is a test that did not run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("NOTIFICATIONS_FORBID_SKIPS") == "1" and skipped:
        reporter.write_line(f"FAILED: {len(skipped)} test(s) skipped in a CI run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def fresh_channel_layers() -> Iterator[None]:
    """Every test gets new layer instances, bound to its own event loop."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def close_worker_thread_connections() -> Iterator[None]:
    """Async tests reach the database from asgiref's worker thread (and event streams from
    theirs); close those connections so the test database can be dropped."""
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    if routing._stream_executor is not None:
        routing._stream_executor.submit(connections.close_all).result()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def second_redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def layer_param(request: pytest.FixtureRequest) -> str:
    """The test's `layer` parameter: "core", "pubsub" or "sharded" (the core layer over two
    Redis hosts)."""
    callspec = getattr(request.node, "callspec", None)
    return str(callspec.params.get("layer", "core")) if callspec is not None else "core"


@pytest.fixture
def redis(
    redis_server: RedisServer, request: pytest.FixtureRequest
) -> Iterator[RedisServer | RedisShards]:
    """The private Redis; for a test with `layer="sharded"`, two of them as shards."""
    servers = [redis_server]
    if layer_param(request) == "sharded":
        servers.append(request.getfixturevalue("second_redis_server"))
    for server in servers:
        if server.process is None:
            server.start()
        server.cli("FLUSHALL")
    yield servers[0] if len(servers) == 1 else RedisShards(servers)
    for server in servers:
        if server.process is None:
            server.start()


def redis_layer_config(url: str, kind: str = "core") -> dict[str, Any]:
    """The CHANNEL_LAYERS setting for `url` (a comma-separated list of shards)."""
    if kind == "pubsub":
        backend, config = "channels_redis.pubsub.RedisPubSubChannelLayer", {}
    else:
        backend, config = "channels_redis.core.RedisChannelLayer", {"capacity": 10000}
    hosts: list[dict[str, Any]] = []
    for address in url.split(","):
        host: dict[str, Any] = {"address": address, "socket_timeout": None}
        if kind != "pubsub":
            host["max_connections"] = 10000
        hosts.append(host)
    return {"default": {"BACKEND": backend, "CONFIG": {"hosts": hosts, **config}}}


@pytest.fixture
def redis_layer(
    settings: Any, redis: RedisServer | RedisShards, request: pytest.FixtureRequest
) -> RedisServer | RedisShards:
    """This test process publishes and receives through the private Redis (with the layer
    kind of the test's `layer` parameter, if it has one)."""
    settings.CHANNEL_LAYERS = redis_layer_config(redis.url, layer_param(request))
    channel_layers.backends.clear()
    return redis


@pytest.fixture
def memory_layer(settings: Any) -> None:
    """For tests that look inside the in-memory layer, whatever layer the run uses."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10000},
        }
    }
    channel_layers.backends.clear()


@pytest.fixture
def fast_resync(settings: Any) -> None:
    settings.NOTIFICATIONS = {"RESYNC_INTERVAL": 0.2, "STREAM_LINGER": 0.5}


@pytest.fixture
def live_env(django_db_setup: None, redis: RedisServer | RedisShards) -> dict[str, str]:
    """Environment for a server process sharing this test's database and the private Redis."""
    db = connection.settings_dict
    env = {
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "REDIS_URL": redis.url,
        "NOTIFICATIONS_RESYNC_INTERVAL": "0.5",
        "NOTIFICATIONS_STREAM_LINGER": "1",
        "PYTHONUNBUFFERED": "1",
    }
    if db["ENGINE"] == "django.db.backends.sqlite3":
        env["SQLITE_PATH"] = str(db["NAME"])
        env["DATABASE_URL"] = ""
    else:
        host = db["HOST"] or "127.0.0.1"
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
    return env


@pytest.fixture
def daphne(
    live_env: dict[str, str], request: pytest.FixtureRequest
) -> Iterator[Callable[..., DaphneServer]]:
    """Start daphne processes of the demo site; their logs are printed if the test fails."""
    servers: list[DaphneServer] = []

    def start(name: str = "daphne", server_kind: str = "daphne", **env: str) -> DaphneServer:
        server = DaphneServer({**live_env, **env}, name=f"{name}{len(servers)}", server=server_kind)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for server in servers:
            print(f"----- {server.name} log -----\n{server.log()}")


@pytest.fixture
def worker(
    live_env: dict[str, str], request: pytest.FixtureRequest
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `db_worker` processes of the demo site; their logs are printed if the test
    fails. `worker(REDIS_URL="")` runs one without Redis."""
    workers: list[WorkerProcess] = []

    def start(name: str = "worker", **env: str) -> WorkerProcess:
        process = WorkerProcess({**live_env, **env}, name=f"{name}{len(workers)}")
        workers.append(process)
        process.start()
        return process

    yield start
    for process in workers:
        process.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for process in workers:
            print(f"----- {process.name} log -----\n{process.log()}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report


def create_user_with_session(username: str, **fields: Any) -> tuple[Any, str]:
    user = get_user_model().objects.create_user(username=username, **fields)
    client = Client()
    client.force_login(user)
    return user, client.cookies["sessionid"].value


@pytest.fixture
def make_user() -> Callable[..., Awaitable[tuple[Any, str]]]:
    """`user, session = await make_user("alice")`: a user and a logged-in session cookie."""
    return sync_to_async(create_user_with_session)
