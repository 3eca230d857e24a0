"""The fan-out load tool: one sender, N receivers on one stream, real sockets, separate processes.

    python -m benchmarks.loadtool MODE --target TARGET --port PORT [options]

MODE
  burst        the sender sends E events as fast as it can (each send awaited before the next);
               deliveries/s = deliveries / (last delivery - first send), where a delivery is one
               event reaching one receiver (so N*E when nothing is lost).
  light        one event every --interval seconds (2 s); reports p50/p99 latency.
  idle-memory  opens N sockets (2,000 in the criteria), waits, and reports the server's RSS
               growth per connection (VmRSS from /proc/<pid>/status, before and after).
  sse          N SSE streams (`/live/events/broadcast/?since=<head>`): RSS per stream while idle,
               then E events at full speed, checked exactly-once by `id:` and by data.
  inbox        N users online, each on a WebSocket subscribed to its own `user:<pk>` stream
               with its own login session (`--logins`), spread over one or more servers
               (`--port` repeated): the servers' RSS growth per connection once all are
               subscribed, then one `notify()` to all N users from a separate process
               (`notifier.py --wait`); latency of each delivery is the receiver's clock minus
               the moment notify() was called, and each user must get its
               `notification.created` exactly once.
  chat         N members (one user each, `--session`) join one public room nobody used
               (`--room`) with `chat.join`, spread over the servers; then one sender process
               (`senders.py chat`) sends `chat.send` frames from `--sender-sessions` users at
               `--rate` messages/s in total for `--seconds`; latency of each delivery is the
               member's clock minus the send time in the message's body; each member must get
               every message once, in seq order, and every send its ack.

TARGET
  ours      our app's WebSocket endpoint, `/ws/live/?stream=broadcast`; sender: apublish.
  tutorial  the tutorial consumer, `/ws/chat/bench/`; sender: group_send("chat_bench", ...).
  raw       `raw_server.py`; sender: a WebSocket client whose messages are broadcast, each
            event framed as our app frames it.
  raw-bare  the same, each event sent as its bare data (`{"r", "i", "t"}`).
  (sse mode always reads our app's SSE endpoint, inbox and chat modes our app's WebSocket
  endpoint.)

Every receiver checks it got every event exactly once and in order (by the `i` in the data, and
for our app by `seq` too) and the tool reports lost / duplicated / out-of-order counts. Latency
of each delivery is the receiver's `time.time()` minus the `t` the sender put in the data.

Receivers are spread over --procs processes (asyncio Protocols with a hand-written WebSocket
frame parser, see clients.py). The sender is one more process (senders.py). The ours/tutorial
senders need the server's Django environment (SQLITE_PATH or DATABASE_URL, REDIS_URL), which
they inherit from this process's environment (or from `env` when called from run.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import multiprocessing
import os
import select
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.clients import (
    HandshakeError,
    Receiver,
    SseProtocol,
    Stats,
    WebSocketProtocol,
    sse_request,
    websocket_request,
)

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

TARGET_PATHS = {
    "ours": ("/ws/live/?stream={stream}", "/ws/live/?stream={stream}&since={since}"),
    "tutorial": ("/ws/chat/{room}/", None),
    "raw": ("/", None),
    "raw-bare": ("/", None),
    "sse": ("/live/events/{stream}/?since={since}", "/live/events/{stream}/?since={since}"),
    "inbox": ("/ws/live/?stream={stream}", "/ws/live/?stream={stream}&since={since}"),
    "chat": ("/ws/live/", "/ws/live/?stream={stream}&since={since}"),
}


# --------------------------------------------------------------------------------------------
# /proc helpers


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int | None) -> float:
    if not pid:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_cpu() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine so far, over all cores (/proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / CLOCK_TICKS, sum(fields) / CLOCK_TICKS


def cpu_seconds_of(name: str) -> float:
    """CPU seconds so far of every process whose command name is `name` (e.g. "postgres"),
    with their children that ended (a PostgreSQL backend whose connection closed meanwhile
    is in its postmaster's count)."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                command, fields = stat.read().split(" (", 1)[1].rsplit(") ", 1)
        except (OSError, ValueError):
            continue
        if command == name:
            values = fields.split()
            total += sum(int(values[index]) for index in (11, 12, 13, 14)) / CLOCK_TICKS
    return total


def pid_listening_on(port: int) -> int | None:
    """The pid of the process with a listening TCP socket on `port` (via /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                next(lines)
                for line in lines:
                    parts = line.split()
                    if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(parts[9])
        except FileNotFoundError:
            continue
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


# --------------------------------------------------------------------------------------------
# receiver processes


class Worker:
    """One receiver process: opens its share of the connections, then follows the controller's
    commands over a pipe: `go`, `sender_done` (then report when complete or idle), `close`."""

    def __init__(self, pipe: Connection, config: dict[str, Any]) -> None:
        self.pipe = pipe
        self.config = config
        self.stats = Stats(config["events"], config["token"])
        self.receivers: list[Receiver] = []
        self.phase = "connecting"
        self.cpu_at_go = 0.0
        self.connect_failures: Counter[str] = Counter()
        self.dropped = 0
        self.reconnecting: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.commands: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        loop.add_reader(self.pipe.fileno(), self._on_pipe)
        started = time.time()
        rss_before = rss_kb(os.getpid())
        await self._open_all()
        self.phase = "ready"
        connected = sum(1 for receiver in self.receivers if receiver.proto is not None)
        self.pipe.send(
            (
                "ready",
                {
                    "connected": connected,
                    "seconds": time.time() - started,
                    "failures": dict(self.connect_failures),
                    "rss_kb": [rss_before, rss_kb(os.getpid())],
                },
            )
        )
        watcher: asyncio.Task[None] | None = None
        while True:
            command, _ = await self.commands.get()
            if command == "go":
                self.phase = "running"
                self.cpu_at_go = time.process_time()
            elif command == "sender_done":
                watcher = loop.create_task(self._report_when_done())
            elif command == "close":
                break
        if watcher is not None:
            watcher.cancel()
        self.phase = "closing"
        for task in self.reconnecting:
            task.cancel()
        for receiver in self.receivers:
            if receiver.proto is not None:
                receiver.proto.close()
        await asyncio.sleep(0.2)
        loop.remove_reader(self.pipe.fileno())
        self.pipe.send(("closed", None))

    def _on_pipe(self) -> None:
        try:
            while self.pipe.poll():
                self.commands.put_nowait(self.pipe.recv())
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(self.pipe.fileno())
            self.commands.put_nowait(("close", None))

    async def _open_all(self) -> None:
        config = self.config
        self.receivers = [Receiver(self.stats) for _ in range(config["count"])]
        sessions = config["sessions"]
        self.cookies = {
            id(receiver): {
                "Cookie": "sessionid=" + sessions[(config["offset"] + i) % len(sessions)]
            }
            for i, receiver in enumerate(self.receivers)
            if sessions
        }
        self.stats.incomplete = config["count"] if config["events"] else 0
        gate = asyncio.Semaphore(config["concurrency"])

        self.slots = {
            id(receiver): config["offset"] + i for i, receiver in enumerate(self.receivers)
        }

        async def open_one(receiver: Receiver) -> None:
            async with gate:
                try:
                    await self._connect(receiver, self._path(receiver, config["paths"]))
                except Exception as error:
                    self.connect_failures[type(error).__name__ + ": " + str(error)[:80]] += 1

        await asyncio.gather(*(open_one(receiver) for receiver in self.receivers))

    def _path(self, receiver: Receiver, paths: list[str]) -> str:
        """Receivers are spread over the streams round-robin."""
        return paths[self.slots[id(receiver)] % len(paths)]

    def _port(self, receiver: Receiver) -> int:
        """... and over the servers' ports."""
        ports: list[int] = self.config["ports"]
        return ports[int(self.slots[id(receiver)]) % len(ports)]

    async def _connect(self, receiver: Receiver, path: str, attempts: int = 3) -> None:
        config = self.config
        loop = asyncio.get_running_loop()
        kind = config["kind"]
        host, port = config["host"], self._port(receiver)
        headers = {
            "Origin": f"http://{host}:{port}",
            **config["headers"],
            **self.cookies.get(id(receiver), {}),
        }
        error: BaseException | None = None
        for attempt in range(attempts):
            receiver.ready = loop.create_future()
            protocol: Any = None
            if kind == "sse":
                request = sse_request(host, port, path, headers)
                factory: Any = functools.partial(SseProtocol, receiver, request)
            else:
                request = websocket_request(host, port, path, headers)
                factory = functools.partial(
                    WebSocketProtocol,
                    receiver,
                    kind,
                    request,
                    config.get("hello"),
                    config.get("seq_base", 0),
                )

            try:
                async with asyncio.timeout(config["connect_timeout"]):
                    _, protocol = await loop.create_connection(factory, host, port)
                    receiver.proto = protocol
                    await receiver.ready
                protocol.on_lost = self._on_lost
                return
            except (OSError, TimeoutError, HandshakeError) as failure:
                error = failure
                receiver.proto = None
                if protocol is not None:
                    protocol.abort()
                await asyncio.sleep(0.2 * (attempt + 1))
        assert error is not None
        raise error

    def _on_lost(self, protocol: Any) -> None:
        receiver = protocol.receiver
        if self.phase == "closing" or receiver.proto is not protocol:
            return
        resumes = self.config["resume_paths"]
        if resumes is None or receiver.done or self.stats.reconnects >= self.config["count"] * 5:
            self.dropped += 1
            return
        since = receiver.last_seq if receiver.last_seq is not None else receiver.cursor
        if since is None:
            self.dropped += 1
            return
        self.stats.reconnects += 1
        receiver.proto = None
        task = asyncio.get_running_loop().create_task(
            self._reconnect(receiver, self._path(receiver, resumes).format(since=since))
        )
        self.reconnecting.add(task)
        task.add_done_callback(self.reconnecting.discard)

    async def _reconnect(self, receiver: Receiver, path: str) -> None:
        try:
            await self._connect(receiver, path, attempts=5)
        except Exception as error:
            self.connect_failures["reconnect " + type(error).__name__] += 1

    async def _report_when_done(self) -> None:
        """Report once every receiver has every event, or after `idle_timeout` seconds
        without progress (then the missing events count as lost)."""
        idle = self.config["idle_timeout"]
        since = time.time()
        complete = asyncio.Event()
        self.stats.on_complete = complete.set
        while self.stats.incomplete > 0:
            quiet = time.time() - max(since, self.stats.progress_at)
            if quiet >= idle:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(complete.wait(), min(idle - quiet, 0.5))
        self.pipe.send(("done", self._report()))

    def _report(self) -> dict[str, Any]:
        totals: Counter[str] = Counter()
        for receiver in self.receivers:
            totals.update(receiver.summary())
        offsets = Counter(
            str(receiver.seq_offset) for receiver in self.receivers if receiver.seq_offset
        )
        stats = self.stats
        return {
            **totals,
            "receivers": len(self.receivers),
            "complete": sum(1 for receiver in self.receivers if receiver.done),
            "exactly_once": sum(
                1
                for receiver in self.receivers
                if receiver.got == stats.events and not receiver.dups
            ),
            "first_at": stats.first_at,
            "last_at": max((receiver.last_new for receiver in self.receivers), default=0.0),
            "latencies": stats.latencies.tobytes(),
            "event_max": list(stats.event_max),
            "event_sum": list(stats.event_sum),
            "closes": dict(stats.closes),
            "errors": dict(stats.errors),
            "reconnects": stats.reconnects,
            "dropped": self.dropped,
            "resyncs": stats.resyncs,
            "foreign": stats.foreign,
            "pings": stats.pings,
            "frames": stats.frames,
            "handshake_failures": stats.handshake_failures,
            "connect_failures": dict(self.connect_failures),
            "seq_offsets": dict(offsets),
            "cpu": time.process_time() - self.cpu_at_go,
        }


def worker_main(pipe: Connection, config: dict[str, Any]) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(Worker(pipe, config).run())


class Receivers:
    """The controller's handle on the receiver processes."""

    def __init__(self, config: dict[str, Any], count: int, procs: int) -> None:
        context = multiprocessing.get_context("fork")
        procs = max(1, min(procs, count))
        shares = [count // procs + (1 if index < count % procs else 0) for index in range(procs)]
        self.workers: list[tuple[Any, Connection]] = []
        offset = 0
        for share in shares:
            parent, child = context.Pipe()
            share_config = {**config, "count": share, "offset": offset}
            offset += share
            process = context.Process(target=worker_main, args=(child, share_config), daemon=True)
            process.start()
            child.close()
            self.workers.append((process, parent))

    def collect(self, kind: str, timeout: float) -> list[Any]:
        results: list[Any] = []
        deadline = time.monotonic() + timeout
        for process, pipe in self.workers:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not pipe.poll(min(left, 1.0)):
                    if left <= 0:
                        raise TimeoutError(f"receivers: no {kind!r} within {timeout:.0f}s")
                    if not process.is_alive():
                        raise RuntimeError(f"a receiver process died (exit {process.exitcode})")
                    continue
                message, value = pipe.recv()
                if message == kind:
                    results.append(value)
                    break
        return results

    def send(self, command: str) -> None:
        for _, pipe in self.workers:
            pipe.send((command, None))

    def close(self) -> None:
        for _, pipe in self.workers:
            with contextlib.suppress(OSError):
                pipe.send(("close", None))
        with contextlib.suppress(Exception):
            self.collect("closed", 30)
        for process, _ in self.workers:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()


# --------------------------------------------------------------------------------------------
# the sender process


class Sender:
    """The sender process (`senders.py`; for target `inbox`, `notifier.py --wait`, notifying
    the first `events` users)."""

    def __init__(self, target: str, events: int, interval: float, token: str, **options: Any):
        if target == "inbox":
            args = [sys.executable, "-m", "benchmarks.notifier", "--wait", "--token", token]
            args += ["--count", str(events)]
        elif target == "chat":
            args = [sys.executable, "-m", "benchmarks.senders", "chat", "--events", str(events)]
            args += ["--interval", str(interval), "--token", token, "--room", options["room"]]
            args += ["--ports", ",".join(map(str, options["ports"]))]
            args += ["--sessions", ",".join(options["sessions"])]
        else:
            args = [sys.executable, "-m", "benchmarks.senders", target, "--events", str(events)]
            args += ["--interval", str(interval), "--token", token]
        if options.get("url"):
            args += ["--url", options["url"]]
        if options.get("streams"):
            args += ["--streams", ",".join(options["streams"]), "--publish", options["publish"]]
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in close())
            prefix="bench-sender-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=options.get("env") or os.environ.copy(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        self._buffer = b""

    def read(self, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"sender: no answer in {timeout:.0f}s\n{self.log_text()}")
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise RuntimeError(f"sender exited:\n{self.log_text()}")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return dict(json.loads(line))

    def tell(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def log_text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def close(self) -> None:
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(10)
        except Exception:
            self.process.kill()
            self.process.wait()
        self.log.close()
        os.unlink(self.log.name)


# --------------------------------------------------------------------------------------------
# the controller


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(fraction * (len(values) - 1))))
    return values[index]


def summarize_latency(reports: list[dict[str, Any]], receivers: int) -> dict[str, Any]:
    from array import array

    values = array("d")
    for report in reports:
        values.frombytes(report.pop("latencies"))
    ordered = sorted(values)
    summary: dict[str, Any] = {
        f"latency_{name}_ms": (None if (v := percentile(ordered, q)) is None else v * 1000)
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
    }
    # Per event (index i): mean and max latency over all receivers, in ms.
    maxima = [max(column) for column in zip(*(r.pop("event_max") for r in reports), strict=True)]
    sums = [sum(column) for column in zip(*(r.pop("event_sum") for r in reports), strict=True)]
    summary["event_latency_mean_ms"] = [round(1000 * total / receivers, 1) for total in sums]
    summary["event_latency_max_ms"] = [round(1000 * value, 1) for value in maxima]
    return summary


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in (
        "got",
        "lost",
        "dups",
        "out_of_order",
        "seq_errors",
        "receivers",
        "complete",
        "exactly_once",
        "reconnects",
        "dropped",
        "resyncs",
        "foreign",
        "pings",
        "frames",
        "handshake_failures",
    ):
        merged[key] = sum(report.get(key, 0) for report in reports)
    for key in ("closes", "errors", "connect_failures", "seq_offsets"):
        counter: Counter[str] = Counter()
        for report in reports:
            counter.update(report.get(key, {}))
        merged[key] = dict(counter)
    firsts = [report["first_at"] for report in reports if report["first_at"]]
    merged["first_delivery"] = min(firsts) if firsts else None
    merged["last_delivery"] = max(report["last_at"] for report in reports) or None
    merged["receiver_cpu_s"] = sum(report["cpu"] for report in reports)
    return merged


def run_load(
    mode: str,
    target: str,
    *,
    port: int,
    ports: list[int] | None = None,
    host: str = "127.0.0.1",
    receivers: int = 1000,
    events: int = 100,
    interval: float = 2.0,
    procs: int = 2,
    sessions: list[str] | None = None,
    server_pid: int | None = None,
    server_pids: list[int] | None = None,
    redis_pid: int | None = None,
    env: dict[str, str] | None = None,
    idle_wait: float = 5.0,
    idle_timeout: float = 15.0,
    concurrency: int = 50,
    connect_timeout: float = 60.0,
    stream: str = "broadcast",
    streams: list[str] | None = None,
    publish: str = "single",
    room: str = "bench",
    warmup: int = 10,
    burst_interval: float = 0.0,
    on_go: Any = None,
    on_done: Any = None,
    senders: list[str] | None = None,
    rate: float = 100.0,
    seconds: float = 20.0,
) -> dict[str, Any]:
    """Run one measurement and return its numbers (see the module docstring). `ports`: the
    receivers are spread over these servers round-robin (`port` alone by default), as they
    are over `streams` and `sessions`, so with as many of each as receivers, receiver i reads
    `streams[i]` as the user of `sessions[i]`."""
    if mode in ("sse", "inbox", "chat"):
        target = mode
    kind = target
    token = uuid.uuid4().hex[:12]
    headers: dict[str, str] = {}
    path_template, resume_template = TARGET_PATHS[target]
    result: dict[str, Any] = {
        "mode": mode,
        "target": target,
        "receivers": receivers,
        "procs": procs,
        "token": token,
    }

    names = streams or [stream]
    join_frame = seq_base = None
    if mode == "chat":
        names = [f"room:{room}"]
        join_frame = json.dumps({"type": "chat.join", "room": room, "limit": 0})
        seq_base = 0

    def config(count: int, paths: list[str], expected: int) -> dict[str, Any]:
        return {
            "kind": kind,
            "host": host,
            "ports": ports or [port],
            "paths": paths,
            "resume_paths": (
                [resume_template.replace("{stream}", name) for name in names]
                if resume_template
                else None
            ),
            "headers": headers,
            "sessions": sessions or [],
            "count": count,
            "events": expected,
            "token": token,
            "concurrency": concurrency,
            "connect_timeout": connect_timeout,
            "idle_timeout": idle_timeout,
            "hello": join_frame,
            "seq_base": seq_base,
        }

    def open_receivers(count: int, expected: int, since: int | None) -> Receivers:
        paths = [path_template.format(stream=name, room=room, since=since) for name in names]
        group = Receivers(config(count, paths, expected), count, procs)
        started = time.monotonic()
        ready = group.collect("ready", connect_timeout * 3 + count / 20)
        connected = sum(item["connected"] for item in ready)
        result.setdefault("connect", []).append(
            {
                "sockets": count,
                "connected": connected,
                "seconds": round(time.monotonic() - started, 2),
                "failures": dict(
                    sum((Counter(item["failures"]) for item in ready), Counter[str]())
                ),
                "receiver_rss_kb": [item["rss_kb"] for item in ready],
            }
        )
        if connected < count:
            print(f"  warning: only {connected}/{count} connections opened", file=sys.stderr)
        return group

    def warm(since: int | None) -> None:
        # Connections opened and closed before the measurement: lazy imports, the hub, the
        # layer's receive loop and its Redis pool exist before "before" is read.
        if warmup:
            group = open_receivers(warmup, 0, since)
            group.close()
            time.sleep(1.0)

    if mode == "idle-memory":
        assert server_pid is not None, "idle-memory needs the server's pid"
        warm(None)
        before, threads_before = rss_kb(server_pid), threads(server_pid)
        group = open_receivers(receivers, 0, None)
        try:
            time.sleep(idle_wait)
            after, threads_after = rss_kb(server_pid), threads(server_pid)
        finally:
            group.close()
        result.update(
            rss_before_kb=before,
            rss_after_kb=after,
            threads_before=threads_before,
            threads_after=threads_after,
            kb_per_connection=(after - before) / receivers,
            connected=result["connect"][-1]["connected"],
        )
        return result

    if mode == "inbox":
        return run_inbox(
            result,
            open_receivers=open_receivers,
            warm=warm,
            receivers=receivers,
            token=token,
            env=env,
            server_pids=server_pids or ([server_pid] if server_pid else []),
            redis_pid=redis_pid,
            idle_wait=idle_wait,
            idle_timeout=idle_timeout,
            on_go=on_go,
            on_done=on_done,
        )

    if mode == "chat":
        assert senders, "chat needs the senders' session keys"
        return run_chat(
            result,
            open_receivers=open_receivers,
            receivers=receivers,
            token=token,
            env=env,
            room=room,
            senders=senders,
            ports=ports or [port],
            rate=rate,
            seconds=seconds,
            server_pids=server_pids or ([server_pid] if server_pid else []),
            redis_pid=redis_pid,
            idle_wait=idle_wait,
            idle_timeout=idle_timeout,
            on_go=on_go,
            on_done=on_done,
        )

    sender_target = "ours" if target == "sse" else target
    sender = Sender(
        sender_target,
        events,
        interval if mode == "light" else burst_interval,
        token,
        url=f"ws://{host}:{port}/" if target.startswith("raw") else None,
        env=env,
        streams=streams,
        publish=publish,
    )
    group: Receivers | None = None
    try:
        hello = sender.read(60)
        head = hello.get("head")
        if mode == "sse":
            assert server_pid is not None, "sse needs the server's pid"
            warm(head)
            before, threads_before = rss_kb(server_pid), threads(server_pid)
            group = open_receivers(receivers, events, head)
            time.sleep(idle_wait)
            idle = rss_kb(server_pid)
            result.update(
                rss_before_kb=before,
                rss_idle_kb=idle,
                threads_before=threads_before,
                threads_idle=threads(server_pid),
                kb_per_stream=(idle - before) / receivers,
            )
        else:
            group = open_receivers(receivers, events, head)
            time.sleep(1.0)
        rss_start = rss_kb(server_pid) if server_pid else None
        cpu_server, cpu_redis = cpu_seconds(server_pid), cpu_seconds(redis_pid)
        if on_go is not None:
            on_go()
        clock = time.time()
        group.send("go")
        sender.tell("go")
        sent = sender.read(events * (interval if mode == "light" else burst_interval + 0.05) + 300)
        group.send("sender_done")
        reports = group.collect("done", idle_timeout + 600)
        elapsed = time.time() - clock
        if on_done is not None:
            on_done()
        result["server_cpu_s"] = cpu_seconds(server_pid) - cpu_server
        result["redis_cpu_s"] = cpu_seconds(redis_pid) - cpu_redis
        if server_pid:
            result["rss_start_kb"] = rss_start
            result["rss_end_kb"] = rss_kb(server_pid)
    finally:
        if group is not None:
            group.close()
        sender.close()
    result.update(summarize_latency(reports, receivers))
    merged = merge(reports)
    result.update(merged)
    expected = receivers * sent["sent"]
    result["events"] = sent["sent"]
    result["expected"] = expected
    result["lost"] = expected - merged["got"]
    result["first_send"] = sent["first_send"]
    result["send_seconds"] = sent["last_send"] - sent["first_send"]
    result["sender_cpu_s"] = sent.get("cpu")
    result["first_seq"], result["last_seq"] = sent["first_seq"], sent["last_seq"]
    if sent["first_seq"] is not None:
        # Receivers saw seq = i + offset; every receiver should agree with the sender.
        offset = str(sent["first_seq"])
        result["seq_offset_mismatches"] = sum(
            count for value, count in merged["seq_offsets"].items() if value != offset
        )
    if merged["last_delivery"]:
        span = merged["last_delivery"] - sent["first_send"]
        result["seconds"] = span
        result["deliveries_per_s"] = merged["got"] / span if span > 0 else None
        result["server_cpu_pct"] = 100 * result["server_cpu_s"] / elapsed
        result["receiver_cpu_pct"] = 100 * merged["receiver_cpu_s"] / elapsed
        result["redis_cpu_pct"] = 100 * result["redis_cpu_s"] / elapsed
    return result


def run_inbox(
    result: dict[str, Any],
    *,
    open_receivers: Any,
    warm: Any,
    receivers: int,
    token: str,
    env: dict[str, str] | None,
    server_pids: list[int],
    redis_pid: int | None,
    idle_wait: float,
    idle_timeout: float,
    on_go: Any,
    on_done: Any,
) -> dict[str, Any]:
    """The `inbox` mode of `run_load`: RSS per connection once every user is subscribed, then
    one notify() to all of them (its receivers expect one event each)."""
    assert server_pids, "inbox needs the servers' pids"
    sender = Sender("inbox", receivers, 0.0, token, env=env)
    group: Receivers | None = None
    try:
        sender.read(120)
        warm(None)
        before = [rss_kb(pid) for pid in server_pids]
        group = open_receivers(receivers, 1, None)
        idle_cpu = [cpu_seconds(pid) for pid in server_pids]
        idle_clock = time.monotonic()
        time.sleep(idle_wait)
        idle_cpu = [cpu_seconds(pid) - cpu for pid, cpu in zip(server_pids, idle_cpu, strict=True)]
        idle_seconds = time.monotonic() - idle_clock
        after = [rss_kb(pid) for pid in server_pids]
        if on_go is not None:
            on_go()
        cpu_servers = [cpu_seconds(pid) for pid in server_pids]
        cpu_redis = cpu_seconds(redis_pid)
        cpu_postgres = cpu_seconds_of("postgres")
        cpu_machine = machine_cpu()
        clock = time.time()
        group.send("go")
        sender.tell("go")
        sent = sender.read(900)
        group.send("sender_done")
        reports = group.collect("done", idle_timeout + 600)
        elapsed = time.time() - clock
        if on_done is not None:
            on_done()
        server_cpu = [
            cpu_seconds(pid) - cpu for pid, cpu in zip(server_pids, cpu_servers, strict=True)
        ]
        redis_cpu = cpu_seconds(redis_pid) - cpu_redis
        postgres_cpu = cpu_seconds_of("postgres") - cpu_postgres
        busy, total = machine_cpu()
        machine_busy_pct = 100 * (busy - cpu_machine[0]) / max(1e-9, total - cpu_machine[1])
    finally:
        if group is not None:
            group.close()
        sender.close()
    result.update(summarize_latency(reports, receivers))
    merged = merge(reports)
    result.update(merged)
    t0 = sent["t0"]
    connect = result["connect"][-1]
    deltas = [end - start for start, end in zip(before, after, strict=True)]
    result.update(
        events=1,
        expected=receivers,
        lost=receivers - merged["got"],
        first_send=t0,
        notified=sent["notified"],
        notify_returned_s=sent["returned_at"] - t0,
        notify_sent_s=sent["sent_at"] - t0,
        notify_queries=sent["queries"],
        notify_layer_messages=sent["layer_messages"],
        sender_cpu_s=sent["cpu"],
        first_delivery_s=merged["first_delivery"] - t0 if merged["first_delivery"] else None,
        seconds=merged["last_delivery"] - t0 if merged["last_delivery"] else None,
        connected=connect["connected"],
        connect_seconds=connect["seconds"],
        server_pids=server_pids,
        rss_before_kb=before,
        rss_after_kb=after,
        kb_per_connection_by_server=[
            delta / max(1, len(range(index, receivers, len(server_pids))))
            for index, delta in enumerate(deltas)
        ],
        kb_per_connection=sum(deltas) / receivers,
        receiver_kb_per_connection=sum(end - start for start, end in connect["receiver_rss_kb"])
        / receivers,
        server_cpu_s=server_cpu,
        server_cpu_pct=[100 * cpu / elapsed for cpu in server_cpu],
        idle_server_cpu_pct=[100 * cpu / idle_seconds for cpu in idle_cpu],
        redis_cpu_s=redis_cpu,
        postgres_cpu_s=postgres_cpu,
        machine_busy_pct=machine_busy_pct,
        window_s=elapsed,
        receiver_cpu_pct=100 * merged["receiver_cpu_s"] / elapsed,
    )
    return result


def run_chat(
    result: dict[str, Any],
    *,
    open_receivers: Any,
    receivers: int,
    token: str,
    env: dict[str, str] | None,
    room: str,
    senders: list[str],
    ports: list[int],
    rate: float,
    seconds: float,
    server_pids: list[int],
    redis_pid: int | None,
    idle_wait: float,
    idle_timeout: float,
    on_go: Any,
    on_done: Any,
) -> dict[str, Any]:
    """The `chat` mode of `run_load`: N members join one fresh room (`chat.join`, each its own
    user, spread over `ports`), then len(`senders`) sender connections (their own users, spread
    alike) send `chat.send` frames at `rate` messages/s in total for `seconds`; each member
    expects every message once, in seq order."""
    assert server_pids, "chat needs the servers' pids"
    count = len(senders)
    per_sender = max(1, round(rate / count * seconds))
    events = per_sender * count
    sender = Sender(
        "chat",
        per_sender,
        1 / rate,
        token,
        env=env,
        room=room,
        ports=ports,
        sessions=senders,
    )
    group: Receivers | None = None
    try:
        hello = sender.read(120)
        if hello.get("head"):
            raise RuntimeError(f"room {room!r} is not fresh: its stream is at {hello['head']}")
        group = open_receivers(receivers, events, None)
        rss = [rss_kb(pid) for pid in server_pids]
        time.sleep(idle_wait)  # the members' presence.join events drain
        if on_go is not None:
            on_go()
        cpu_servers = [cpu_seconds(pid) for pid in server_pids]
        cpu_redis = cpu_seconds(redis_pid)
        cpu_postgres = cpu_seconds_of("postgres")
        cpu_machine = machine_cpu()
        clock = time.time()
        group.send("go")
        sender.tell("go")
        sent = sender.read(seconds * 3 + 120)
        group.send("sender_done")
        reports = group.collect("done", idle_timeout + 600)
        elapsed = time.time() - clock
        if on_done is not None:
            on_done()
        server_cpu = [
            cpu_seconds(pid) - cpu for pid, cpu in zip(server_pids, cpu_servers, strict=True)
        ]
        redis_cpu = cpu_seconds(redis_pid) - cpu_redis
        postgres_cpu = cpu_seconds_of("postgres") - cpu_postgres
        busy, total = machine_cpu()
        machine_busy_pct = 100 * (busy - cpu_machine[0]) / max(1e-9, total - cpu_machine[1])
        rss_end = [rss_kb(pid) for pid in server_pids]
    finally:
        if group is not None:
            group.close()
        sender.close()
    result.update(summarize_latency(reports, receivers))
    merged = merge(reports)
    result.update(merged)
    acked = sent["acked"]
    expected = receivers * acked
    connect = result["connect"][-1]
    result.update(
        room=room,
        senders=count,
        rate=rate,
        send_seconds_planned=seconds,
        events=events,
        sent=sent["sent"],
        acked=acked,
        send_errors=sent["errors"],
        ack_duplicates=sent["duplicates"],
        ack_seq_problems=sent["seq_problems"],
        expected=expected,
        lost=expected - merged["got"],
        first_send=sent["first_send"],
        send_seconds=sent["last_send"] - sent["first_send"],
        achieved_rate=(sent["sent"] - 1) / (sent["last_send"] - sent["first_send"])
        if sent["last_send"] > sent["first_send"]
        else None,
        ack_latency_p50_ms=sent["ack_p50_ms"],
        ack_latency_p99_ms=sent["ack_p99_ms"],
        ack_latency_max_ms=sent["ack_max_ms"],
        first_seq=sent["first_seq"],
        last_seq=sent["last_seq"],
        seq_offset_mismatches=sum(
            number for value, number in merged["seq_offsets"].items() if value != "1"
        ),
        sender_cpu_s=sent["cpu"],
        connected=connect["connected"],
        connect_seconds=connect["seconds"],
        server_pids=server_pids,
        rss_idle_kb=rss,
        rss_end_kb=rss_end,
        server_cpu_s=server_cpu,
        server_cpu_pct=[100 * cpu / elapsed for cpu in server_cpu],
        redis_cpu_s=redis_cpu,
        redis_cpu_pct=100 * redis_cpu / elapsed,
        postgres_cpu_s=postgres_cpu,
        postgres_cpu_pct=100 * postgres_cpu / elapsed,
        machine_busy_pct=machine_busy_pct,
        window_s=elapsed,
        receiver_cpu_pct=100 * merged["receiver_cpu_s"] / elapsed,
        sender_cpu_pct=100 * sent["cpu"] / elapsed,
    )
    if merged["frames"]:
        result["events_per_frame"] = merged["got"] / merged["frames"]
    if merged["last_delivery"]:
        result["seconds"] = merged["last_delivery"] - sent["first_send"]
    return result


def describe(result: dict[str, Any]) -> str:
    keys = [
        "mode",
        "target",
        "receivers",
        "events",
        "deliveries_per_s",
        "seconds",
        "latency_p50_ms",
        "latency_p99_ms",
        "latency_max_ms",
        "lost",
        "dups",
        "out_of_order",
        "seq_errors",
        "reconnects",
        "closes",
        "errors",
        "kb_per_connection",
        "kb_per_stream",
        "server_cpu_pct",
        "receiver_cpu_pct",
        "redis_cpu_pct",
    ]
    parts = []
    for key in keys:
        if key in result and result[key] not in (None, {}):
            value = result[key]
            parts.append(f"{key}={value:.1f}" if isinstance(value, float) else f"{key}={value}")
    return " ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="See benchmarks/README.md.",
    )
    parser.add_argument("mode", choices=["burst", "light", "idle-memory", "sse", "inbox", "chat"])
    parser.add_argument("--target", choices=list(TARGET_PATHS), default="ours")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port",
        type=int,
        action="append",
        required=True,
        help="the server's port; repeat it to spread the receivers over several servers",
    )
    parser.add_argument("-n", "--receivers", type=int, default=1000)
    parser.add_argument("-e", "--events", type=int, default=100)
    parser.add_argument("--interval", type=float, default=2.0, help="light: seconds per event")
    parser.add_argument("--procs", type=int, default=2, help="receiver processes")
    parser.add_argument(
        "--session", help="sessionid cookies, comma-separated (default: one user per receiver)"
    )
    parser.add_argument(
        "--logins",
        type=Path,
        help="inbox: a file of `<user pk> <session key>` lines (`benchmarks.session --first N`); "
        "receiver i reads user:<pk i> with session i",
    )
    parser.add_argument(
        "--sender-sessions",
        help="chat: the senders' sessionid cookies, comma-separated (one sender each)",
    )
    parser.add_argument("--room", default="bench", help="chat: a public room nobody used yet")
    parser.add_argument("--rate", type=float, default=100.0, help="chat: messages/s in total")
    parser.add_argument("--seconds", type=float, default=20.0, help="chat: seconds of sending")
    parser.add_argument("--server-pid", type=int, help="default: whoever listens on --port")
    parser.add_argument("--redis-pid", type=int)
    parser.add_argument("--idle-wait", type=float, default=5.0)
    parser.add_argument("--idle-timeout", type=float, default=15.0)
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args()
    target = "ours" if args.mode == "sse" else args.target
    if args.mode == "chat" and not args.sender_sessions:
        parser.error("chat needs --sender-sessions (and --session: one per member)")
    sessions = args.session.split(",") if args.session else None
    streams = None
    if args.mode == "inbox":
        if args.logins is None:
            parser.error("inbox needs --logins")
        logins = [line.split() for line in args.logins.read_text().splitlines() if line.strip()]
        streams = [f"user:{pk}" for pk, _ in logins]
        sessions = [key for _, key in logins]
    if sessions is None and not target.startswith("raw"):
        sessions = subprocess.run(
            [sys.executable, "-m", "benchmarks.session", str(args.receivers)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    server_pids = [pid for port in args.port if (pid := pid_listening_on(port))]
    server_pid = args.server_pid or (server_pids[0] if server_pids else None)
    result = run_load(
        args.mode,
        target,
        host=args.host,
        port=args.port[0],
        ports=args.port,
        streams=streams,
        server_pids=server_pids,
        receivers=args.receivers,
        events=args.events,
        interval=args.interval,
        procs=args.procs,
        sessions=sessions,
        server_pid=server_pid,
        redis_pid=args.redis_pid,
        idle_wait=args.idle_wait,
        idle_timeout=args.idle_timeout,
        room=args.room,
        senders=args.sender_sessions.split(",") if args.sender_sessions else None,
        rate=args.rate,
        seconds=args.seconds,
    )
    print(describe(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
