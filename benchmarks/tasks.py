"""The tasks benchmark: a real `db_worker` runs the tasks, daphne serves their streams over
SSE, watchers in other processes read them with httpx-sse.

    .venv/bin/python -m benchmarks.tasks              # 3 repeats, 1,000 watchers, ~5 min
    .venv/bin/python -m benchmarks.tasks --quick      # 1 repeat, 200 watchers

Scenarios, interleaved per repeat:
- latency (Redis / no Redis): `progress()` in the task to the event parsed by a watcher,
  reports paced below the progress rate;
  each report carries its send time. Beside it, the ceiling of the Redis hop itself: PUBLISH in
  one process to SUBSCRIBE in another, at the same pace.
- fan-out: one run watched by N watchers (N staff users, one stream each), every event
  delivered to every watcher exactly once and in order; report-to-watcher latency; daphne RSS.
- token stream: a task writing 10,000 chunks as fast as it can; chunks/s end to end (task
  start to the watcher's terminal event) and that the watcher got every chunk once.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.run import RESULTS, write_results
from benchmarks.servers import ROOT, Redis, Server, django_env, stop

REPORT_INTERVAL = 0.15
"""Slower than TASK_PROGRESS_RATE (10/s), so every report is stored and none waits for its
turn: the latency measured is storing plus delivery, not the rate limit."""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def sessions(env: dict[str, str], count: int, prefix: str, staff: bool = False) -> list[str]:
    code = (
        "import django,sys; django.setup(); from benchmarks.session import create_sessions; "
        f"print('\\n'.join(create_sessions({count}, {prefix!r}, staff={staff})))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.split()


def start_run(env: dict[str, str], name: str, kwargs: dict[str, Any], owner: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.task_start", name, json.dumps(kwargs), owner],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


class Worker:
    def __init__(self, env: dict[str, str], log_dir: Path, label: str) -> None:
        self.log_path = log_dir / f"{label}.log"
        with self.log_path.open("ab") as log:
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
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        stop(self.process)


def watch(url: str, keys: list[str], processes: int = 1) -> tuple[list[Any], list[Any]]:
    """Start watcher processes; returns (popen handles, their key slices) once all connect."""
    slices = [keys[index::processes] for index in range(processes)]
    watchers = []
    for part in slices:
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.task_watchers", url],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdin is not None
        process.stdin.write("\n".join(part))
        process.stdin.close()
        process.stdin = None
        watchers.append(process)
    for process in watchers:
        assert process.stderr is not None
        line = process.stderr.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"watchers did not connect: {line}{process.stderr.read()}")
    return watchers, slices


def collect(watchers: list[Any], timeout: float = 300) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for process in watchers:
        out, err = process.communicate(timeout=timeout)
        if process.returncode != 0:
            raise RuntimeError(f"watcher failed: {err}")
        results.extend(json.loads(out))
    return results


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def exactly_once(result: dict[str, Any]) -> bool:
    seqs = result["seqs"]
    return bool(seqs) and seqs == list(range(1, len(seqs) + 1)) and result["terminal"] is not None


def latency(env: dict[str, str], log_dir: Path, label: str, reports: int, owner: str) -> dict:
    key = sessions(env, 1, owner)[0]
    with Server("daphne", "ours", env, log_dir, label) as server:
        pace = {"count": reports, "interval": REPORT_INTERVAL}
        run = start_run(env, "timed_reports", pace, owner + "0")
        watchers, _ = watch(f"http://127.0.0.1:{server.port}/live/tasks/{run}/events/", [key])
        worker = Worker(env, log_dir, label + "-worker")
        try:
            (result,) = collect(watchers)
        finally:
            worker.stop()
    delays = [delay * 1000 for delay in result["delays"]]
    return {
        "reports": reports,
        "received": len(delays),
        "exactly_once": exactly_once(result),
        "p50_ms": statistics.median(delays),
        "p99_ms": percentile(delays, 0.99),
        "max_ms": max(delays),
    }


def redis_ceiling(redis: Redis, reports: int) -> dict:
    import redis as redis_py

    client = redis_py.Redis(port=redis.port)
    pubsub = client.pubsub()
    pubsub.subscribe("ceiling")
    pubsub.get_message(timeout=5)
    code = (
        f"import redis,time; c=redis.Redis(port={redis.port})\n"
        f"for _ in range({reports}):\n"
        f" time.sleep({REPORT_INTERVAL}); c.publish('ceiling', repr(time.time()))"
    )
    publisher = subprocess.Popen([sys.executable, "-c", code])
    delays = []
    while len(delays) < reports:
        message = pubsub.get_message(timeout=10)
        if message is None:
            break
        if message["type"] == "message":
            delays.append((time.time() - float(message["data"])) * 1000)
    publisher.wait()
    pubsub.close()
    client.close()
    return {
        "reports": reports,
        "received": len(delays),
        "p50_ms": statistics.median(delays),
        "p99_ms": percentile(delays, 0.99),
        "max_ms": max(delays),
    }


def fan_out(env: dict[str, str], log_dir: Path, label: str, watchers_count: int) -> dict:
    keys = sessions(env, watchers_count, "staff", staff=True)
    sessions(env, 1, "fanowner")
    reports = 50
    with Server("daphne", "ours", env, log_dir, label) as server:
        run = start_run(env, "timed_reports", {"count": reports, "interval": 0.1}, "fanowner0")
        idle = rss_kib(server.pid)
        url = f"http://127.0.0.1:{server.port}/live/tasks/{run}/events/"
        watchers, _ = watch(url, keys, processes=2)
        connected = rss_kib(server.pid)
        worker = Worker(env, log_dir, label + "-worker")
        try:
            results = collect(watchers)
        finally:
            worker.stop()
    delays = [delay * 1000 for result in results for delay in result["delays"]]
    return {
        "watchers": watchers_count,
        "reports": reports,
        "watchers_exactly_once": sum(exactly_once(result) for result in results),
        "deliveries": sum(len(result["seqs"]) for result in results),
        "p50_ms": statistics.median(delays),
        "p99_ms": percentile(delays, 0.99),
        "rss_per_watcher_kib": (connected - idle) / watchers_count,
    }


def token_stream(env: dict[str, str], log_dir: Path, label: str, chunks: int) -> dict:
    key = sessions(env, 1, "tokens")[0]
    expected = "".join(f"{number:05d} " for number in range(chunks))
    with Server("daphne", "ours", env, log_dir, label) as server:
        run = start_run(env, "token_stream", {"count": chunks}, "tokens0")
        watchers, _ = watch(f"http://127.0.0.1:{server.port}/live/tasks/{run}/events/", [key])
        worker = Worker(env, log_dir, label + "-worker")
        try:
            (result,) = collect(watchers)
        finally:
            worker.stop()
    outcome = _run_result(env, run)
    elapsed = result["terminal"][1] - outcome["began"]
    return {
        "chunks": chunks,
        "all_once_in_order": result["text"] == expected and exactly_once(result),
        "output_events": len(result["seqs"]) - 3,
        "task_write_s": outcome["wrote"],
        "end_to_end_s": elapsed,
        "chunks_per_s": chunks / elapsed,
    }


def _run_result(env: dict[str, str], run: str) -> dict[str, float]:
    code = (
        "import django,json; django.setup(); from notifications.tasks.models import TaskRun; "
        f"print(json.dumps(TaskRun.objects.get(pk={run!r}).result))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(out))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--reports", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.watchers, args.reports = 1, 200, 30
    directory = Path(tempfile.mkdtemp(prefix="notifications-bench-tasks-"))
    redis = Redis(directory)
    with_redis = django_env(directory / "db.sqlite3", redis.url)
    without_redis = {**with_redis, "REDIS_URL": ""}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=with_redis,
        check=True,
    )
    runs: dict[str, list[dict[str, Any]]] = {}
    try:
        for repeat in range(args.repeats):
            steps = [
                (
                    "latency redis",
                    lambda: latency(with_redis, directory, "lat-r", args.reports, "r"),
                ),
                ("ceiling redis pub/sub", lambda: redis_ceiling(redis, args.reports)),
                (
                    "latency no redis",
                    lambda: latency(without_redis, directory, "lat-d", args.reports // 2, "d"),
                ),
                ("fan-out", lambda: fan_out(with_redis, directory, "fan", args.watchers)),
                ("token stream", lambda: token_stream(with_redis, directory, "tok", args.chunks)),
            ]
            for name, step in steps:
                redis.flushall()
                outcome = step()
                print(f"repeat {repeat + 1} {name}: {json.dumps(outcome)}", flush=True)
                runs.setdefault(name, []).append(outcome)
    finally:
        redis.stop()
    summary = {
        name: {
            key: statistics.median(float(run[key]) for run in outcomes)
            for key in outcomes[0]
            if isinstance(outcomes[0][key], int | float) and not isinstance(outcomes[0][key], bool)
        }
        | {
            key: all(run[key] for run in outcomes)
            for key in outcomes[0]
            if isinstance(outcomes[0][key], bool)
        }
        for name, outcomes in runs.items()
    }
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    report = {"args": vars(args), "runs": runs, "medians": summary}
    lines = [f"# Tasks benchmark {stamp} (medians of {args.repeats})", ""]
    for name, values in summary.items():
        shown = ", ".join(
            f"{key} {value:.1f}" if isinstance(value, float) else f"{key} {value}"
            for key, value in values.items()
        )
        lines.append(f"- **{name}**: {shown}")
    write_results(RESULTS, f"{stamp}-tasks", report, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
