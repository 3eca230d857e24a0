"""Real servers for the tests: a private redis-server and daphne processes of the demo site."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from notifications.streams import HUBS_GROUP

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, timeout: float = 20.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


class RedisServer:
    """A private redis-server; `stop()` and `start()` simulate an outage on the same port."""

    def __init__(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed; run `make test`, which installs it.")
        self.executable = executable
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="notifications-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.directory,
                "--maxclients",
                "20000",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, process=self.process)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def cli(self, *args: str) -> object:
        import redis

        client = redis.Redis(port=self.port, decode_responses=True)
        try:
            return client.execute_command(*args)
        finally:
            client.close()

    def groups(self) -> list[str]:
        """The channel layer's group keys of streams (not the group every hub joins)."""
        keys: list[str] = self.cli("KEYS", "asgi:group:*")  # type: ignore[assignment]
        return [key for key in keys if key != "asgi:group:" + HUBS_GROUP]


class RedisShards:
    """Several private redis-servers as one sharded channel layer (channels-redis `hosts`);
    `stop()` and `start()` take all of them down and up, `shard(i)` one of them."""

    def __init__(self, servers: list[RedisServer]) -> None:
        self.servers = servers

    @property
    def url(self) -> str:
        return ",".join(server.url for server in self.servers)

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.servers[0].process

    def shard(self, index: int) -> RedisServer:
        return self.servers[index]

    def start(self) -> None:
        for server in self.servers:
            if server.process is None:
                server.start()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def cli(self, *args: str) -> list[object]:
        return [server.cli(*args) for server in self.servers]

    def groups(self) -> list[str]:
        return [group for server in self.servers for group in server.groups()]


class ManagedProcess:
    """A process of ours with its own log file: `stop()` is a SIGTERM (then SIGKILL after
    10 s), `kill()` a SIGKILL."""

    def __init__(self, env: dict[str, str], name: str) -> None:
        self.env = env
        self.name = name
        self.log_path = Path(tempfile.mkstemp(prefix=f"notifications-{name}-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class DaphneServer(ManagedProcess):
    """The demo site served by daphne (or uvicorn) in its own process, on a free port."""

    def __init__(self, env: dict[str, str], name: str = "daphne", server: str = "daphne") -> None:
        super().__init__(env, name)
        self.server = server
        self.port = free_port()

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        try:
            wait_for_port(self.port, process=self.process)
        except Exception as error:
            raise RuntimeError(f"{self.name} did not start:\n{self.log()}") from error

    def command(self) -> list[str]:
        if self.server == "uvicorn":
            return [
                sys.executable,
                "-m",
                "uvicorn",
                "project.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--lifespan",
                "off",
                "--ws",
                "websockets",
            ]
        return [
            sys.executable,
            "-m",
            "notifications.server",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            "--application-close-timeout",
            "5",
            "project.asgi:application",
        ]


class PartitionableProxy:
    """A TCP proxy to a server, run on the test's event loop. `partition()` cuts the path
    silently: the connections stay open on both sides and bytes vanish, as on a network that
    drops packets; `heal()` lets new connections through again, while the connections that
    were cut stay dead (the server dropped its side long ago)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.cut = False
        self._server: asyncio.Server | None = None
        self._links: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter, list[bool]]] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def partition(self) -> None:
        self.cut = True
        for _, _, dead in self._links:
            dead[0] = True

    def heal(self) -> None:
        self.cut = False
        for _, upstream, _ in self._links:
            upstream.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for client, upstream, _ in self._links:
            client.close()
            upstream.close()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        dead = [self.cut]
        self._links.append((writer, up_writer, dead))
        await asyncio.gather(
            self._pump(reader, up_writer, dead),
            self._pump(up_reader, writer, dead),
            return_exceptions=True,
        )

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, dead: list[bool]
    ) -> None:
        while data := await reader.read(65536):
            if not dead[0]:
                writer.write(data)
                await writer.drain()


class WorkerProcess(ManagedProcess):
    """A `db_worker` of the demo site (django-tasks-db) in its own process; `kill()` is a
    SIGKILL, as when the machine runs out of memory."""

    def __init__(self, env: dict[str, str], name: str = "worker") -> None:
        super().__init__(env, name)

    def start(self, timeout: float = 20.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--queue-name",
                "*",
                "--interval",
                "0.05",
                "--no-startup-delay",
                "--no-reload",
                "--worker-id",
                self.name,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while "Starting worker" not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log()}")
            time.sleep(0.05)
