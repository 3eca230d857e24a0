"""Processes the benchmark runs against: a private redis-server, a fresh SQLite database, and
one server process at a time (daphne or uvicorn serving an ASGI app, or raw_server.py)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


def stop(process: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Redis:
    """A private redis-server on a free port (never the system one on 6379)."""

    def __init__(self, directory: Path) -> None:
        executable = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(directory),
                "--maxclients",
                "20000",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)
        self.version = subprocess.run(
            [executable, "--version"], capture_output=True, text=True
        ).stdout.strip()

    @property
    def pid(self) -> int:
        return self.process.pid

    def flushall(self) -> None:
        import redis

        client = redis.Redis(port=self.port)
        try:
            client.flushall()
        finally:
            client.close()

    def stop(self) -> None:
        stop(self.process)


def django_env(sqlite_path: Path, redis_url: str) -> dict[str, str]:
    """The environment of every Django process of a run: server, sender, migrate, session."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_LAYER", "DJANGO_SETTINGS_MODULE")
        and not key.startswith("NOTIFICATIONS_")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        SQLITE_PATH=str(sqlite_path),
        REDIS_URL=redis_url,
        DEBUG="0",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def prepare_database(env: dict[str, str], users: int) -> list[str]:
    """Migrate the fresh database; return the session keys of `users` benchmark users."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.session", str(users)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()


SERVER_COMMANDS: dict[str, list[str]] = {
    # The daphne command of the Makefile's `run` target (access log to the log file).
    "daphne": [
        sys.executable,
        "-m",
        "notifications.server",
        "-b",
        "127.0.0.1",
        "-p",
        "{port}",
        "{app}",
    ],
    # uvicorn as the issue states it: plain ASGI, no lifespan; `--ws websockets` (the legacy
    # websockets implementation, deprecated by uvicorn 0.54) is added by run.py's --uvicorn-ws.
    "uvicorn": [
        sys.executable,
        "-m",
        "uvicorn",
        "{app}",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--lifespan",
        "off",
    ],
    "raw": [sys.executable, "-m", "benchmarks.raw_server", "--port", "{port}"],
    "raw-batch": [sys.executable, "-m", "benchmarks.raw_server", "--port", "{port}", "--batch"],
    # Diagnostics only (run.py --gc-log): daphne, logging garbage-collector pauses.
    "daphne-gclog": [
        sys.executable,
        "-m",
        "benchmarks.gcdiag",
        "-b",
        "127.0.0.1",
        "-p",
        "{port}",
        "{app}",
    ],
}

APPS = {
    "ours": "project.asgi:application",
    "tutorial": "benchmarks.tutorial.asgi:application",
    "raw": "",
    "raw-bare": "",
}


class Server:
    """One server process; `pid` is the process that serves (no wrapper process)."""

    def __init__(
        self,
        kind: str,
        app: str,
        env: dict[str, str],
        log_dir: Path,
        label: str,
        extra: list[str] | None = None,
    ):
        self.kind = kind
        self.port = free_port()
        self.command = [
            part.format(port=self.port, app=APPS[app]) for part in SERVER_COMMANDS[kind]
        ] + list(extra or [])
        self.log_path = log_dir / f"{label}.log"
        with self.log_path.open("ab") as log:
            self.process: subprocess.Popen[bytes] = subprocess.Popen(
                self.command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_for_port(self.port, self.process)
        except Exception as error:
            stop(self.process)
            raise RuntimeError(f"{label} did not start:\n{self.log()}") from error

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        stop(self.process)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class Profiler:
    """py-spy sampling one process from `start()` to `stop()`, as collapsed stacks in `path`."""

    def __init__(self, pid: int, path: Path | None) -> None:
        self.pid, self.path = pid, path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.path is None:
            return
        self.process = subprocess.Popen(
            [
                *[PY_SPY, "record", "--pid", str(self.pid), "--rate", "250", "--format", "raw"],
                *["--nonblocking", "-o", str(self.path)],
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.5)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(60)
            self.process = None
