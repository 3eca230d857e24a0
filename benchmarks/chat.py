"""Chat under load: a room of N connected members while S senders send R messages/s, on
daphne with PostgreSQL; and how many messages/s can be stored into one room and into many.

    .venv/bin/python -m benchmarks.chat            # 1,000 members, 10 senders, 100 messages/s
    .venv/bin/python -m benchmarks.chat --quick    # a smoke test: 200 members, 5 s, 1 repeat

`--servers` is 2 by default: daphne runs one event loop per process, and the demo is deployed
as N daphne processes behind a load balancer; two use both cores of the reference machine and
make every message cross the channel layer to the other process, as in production (the same
choice as `benchmarks.inbox_online`). `--servers 1` gives the single-process figures.

It starts a private redis-server, creates a fresh PostgreSQL database (`--postgres`, default
`postgres://postgres@127.0.0.1:5432/notifications_chat_bench`; dropped afterwards), migrates
it, creates N + S + K users (`notifier.py --users`) and logs each of them in once
(`session.py --first`). Then each repeat, with a flushed Redis:

  latency     `--servers` (2) fresh daphne processes of the demo project; one public room
              nobody used; N member WebSockets (the load tool's `chat` mode, `--procs`
              receiver processes), member i logged in as user i, alternating between the
              servers, each sending `chat.join` and waiting for `subscribed`; then S sender
              WebSockets (users N+1 .. N+S, alternating alike) send `chat.send` frames, R/S
              messages/s each, evenly interleaved, for `--seconds` T, each with a unique
              `client_id` and its send time (`time.time()`, one clock for every process on
              the machine) in the body. Each member records when each `chat.message` arrived:
              end-to-end latency = arrival - send, over all N x R x T deliveries; each member
              must get every message exactly once and in seq order (no gap). Also the
              senders' ack latency and the CPU of each daphne, PostgreSQL, Redis, the members
              and the senders during the window. The servers run with CHAT_SEND_RATE (and,
              where needed, FRAME_RATE and USER_FRAME_RATE) raised to twice a sender's rate.
  throughput  no readers: `--writers` K processes (`chat_writer.py`, each its own user) call
              `notifications.chat.api.post_message` in a loop for T seconds, all into one
              fresh room (every message takes the room stream's seq row lock), and then round
              robin over `--rooms` (100) fresh rooms. Messages/s stored = the rows counted
              afterwards / the window; the rows are checked: one per message, each room's
              seqs 1..n once.

It writes `results/<timestamp>-chat.json` and `.md` and prints the Markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks import loadtool, servers
from benchmarks.inbox import notifier
from benchmarks.inbox_online import log_in
from benchmarks.publishing import drop_postgres_database, postgres_database
from benchmarks.run import (
    RESULTS,
    fmt,
    machine_notes,
    median,
    profile_summary,
    server_problems,
    write_results,
)
from benchmarks.scale import create_rooms

GOAL_P99_MS = 100.0
GOAL_MEMBERS = 1000
GOAL_RATE = 100.0


def server_env(env: dict[str, str], per_sender: float) -> dict[str, str]:
    """The servers' environment: the per-user send rate (and the frame rates, if they are
    lower) at twice what one sender sends, so no benchmark message is refused."""
    allowed = max(1.0, 2 * per_sender)
    extra = {
        "NOTIFICATIONS_CHAT_SEND_RATE": f"{allowed:g}",
        "NOTIFICATIONS_CHAT_SEND_BURST": str(max(10, math.ceil(allowed))),
    }
    if allowed > 20:
        extra["NOTIFICATIONS_FRAME_RATE"] = f"{allowed:g}"
        extra["NOTIFICATIONS_FRAME_BURST"] = str(math.ceil(2 * allowed))
    if allowed > 50:
        extra["NOTIFICATIONS_USER_FRAME_RATE"] = f"{allowed:g}"
        extra["NOTIFICATIONS_USER_FRAME_BURST"] = str(math.ceil(2 * allowed))
    return {**env, **extra}


class PgCounters:
    """The benchmark database's sessions opened and transactions committed between `start()`
    and `stop()` (pg_stat_database, read on one connection kept open; PostgreSQL publishes a
    backend's counts within about a second)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.name = url.rsplit("/", 1)[1]
        self.connection = psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True)
        self.before: tuple[int, int] = (0, 0)
        self.counts: dict[str, int] = {}

    def read(self) -> tuple[int, int]:
        self.connection.execute("SELECT pg_stat_clear_snapshot()")
        row = self.connection.execute(
            "SELECT sessions, xact_commit FROM pg_stat_database WHERE datname = %s", [self.name]
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def start(self) -> None:
        self.before = self.read()

    def stop(self) -> dict[str, int]:
        time.sleep(1.2)
        after = self.read()
        self.connection.close()
        self.counts = {
            "postgres_sessions": after[0] - self.before[0],
            "postgres_commits": after[1] - self.before[1],
        }
        return self.counts


# --------------------------------------------------------------------------------------------
# latency


def run_latency(
    *,
    args: argparse.Namespace,
    env: dict[str, str],
    redis: servers.Redis,
    members: list[str],
    senders: list[str],
    log_dir: Path,
    label: str,
    profile_to: Path | None = None,
) -> dict[str, Any]:
    redis.flushall()
    room = f"chat-{label}-{uuid.uuid4().hex[:6]}"
    create_rooms(env, [room])
    with contextlib.ExitStack() as stack:
        started = [
            stack.enter_context(
                servers.Server("daphne", "ours", env, log_dir, f"{label}-server{index + 1}")
            )
            for index in range(args.servers)
        ]
        profiler = servers.Profiler(started[0].pid, profile_to)
        counters = PgCounters(args.postgres)

        def on_go() -> None:
            counters.start()
            profiler.start()

        def on_done() -> None:
            profiler.stop()
            counters.stop()

        result = loadtool.run_load(
            "chat",
            "chat",
            port=started[0].port,
            ports=[server.port for server in started],
            receivers=len(members),
            procs=args.procs,
            sessions=members,
            room=room,
            senders=senders,
            rate=args.rate,
            seconds=args.seconds,
            server_pids=[server.pid for server in started],
            redis_pid=redis.pid,
            env=env,
            idle_wait=args.idle_wait,
            idle_timeout=args.idle_timeout,
            on_go=on_go,
            on_done=on_done,
        )
        time.sleep(0.5)
        logs = [server.log_path.read_text(errors="replace") for server in started]
    result.update(
        counters.counts,
        label=label,
        part="latency",
        stored=count_rows(args.postgres, [room]),
        server_problems=[server_problems(log) for log in logs],
    )
    return result


def exactly_once(run: dict[str, Any]) -> bool:
    stored = run.get("stored") or {}
    return bool(
        run.get("acked")
        and run["acked"] == run["events"]
        and run.get("got") == run["receivers"] * run["events"]
        and not run.get("lost")
        and not run.get("dups")
        and not run.get("seq_errors")
        and not run.get("out_of_order")
        and not run.get("seq_offset_mismatches")
        and not run.get("ack_duplicates")
        and not run.get("ack_seq_problems")
        and not run.get("send_errors")
        and stored.get("rows") == run["events"]
        and stored.get("clean")
    )


# --------------------------------------------------------------------------------------------
# throughput


def run_throughput(
    *,
    args: argparse.Namespace,
    env: dict[str, str],
    redis: servers.Redis,
    writers: list[int],
    rooms: int,
    label: str,
) -> dict[str, Any]:
    redis.flushall()
    prefix = f"w{uuid.uuid4().hex[:6]}"
    slugs = [f"{prefix}-{index}" for index in range(rooms)]
    create_rooms(env, slugs)
    token = uuid.uuid4().hex[:10]
    processes = []
    for number, pk in enumerate(writers):
        # Each writer starts at its own place in the round robin.
        start = number * rooms // len(writers)
        order = slugs[start:] + slugs[:start]
        processes.append(
            subprocess.Popen(
                [
                    *[sys.executable, "-m", "benchmarks.chat_writer", "--author", str(pk)],
                    *["--rooms", ",".join(order), "--seconds", str(args.seconds)],
                    *["--token", f"{token}-{number}"],
                ],
                cwd=servers.ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    try:
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("a writer exited before it was ready")
        counters = PgCounters(args.postgres)
        counters.start()
        cpu_postgres = loadtool.cpu_seconds_of("postgres")
        cpu_redis = loadtool.cpu_seconds(redis.pid)
        cpu_machine = loadtool.machine_cpu()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = []
        for process in processes:
            out, _ = process.communicate(timeout=args.seconds * 3 + 120)
            if process.returncode:
                raise RuntimeError(f"a writer failed ({process.returncode})")
            reports.append(json.loads(out.strip().splitlines()[-1]))
        postgres_cpu = loadtool.cpu_seconds_of("postgres") - cpu_postgres
        redis_cpu = loadtool.cpu_seconds(redis.pid) - cpu_redis
        busy, total = loadtool.machine_cpu()
        counts = counters.stop()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    t0 = min(report["t0"] for report in reports)
    t1 = max(report["t1"] for report in reports)
    window = t1 - t0
    posted = sum(report["posted"] for report in reports)
    stored = count_rows(args.postgres, slugs)
    warmups = len(writers)  # one message each before the window
    return {
        "label": label,
        "part": "throughput",
        "rooms": rooms,
        "writers": len(writers),
        "posted": posted,
        "stored": stored,
        "lost_or_extra": stored["rows"] - warmups - posted,
        "window_s": window,
        "per_s": (stored["rows"] - warmups) / window if window > 0 else None,
        "per_writer_per_s": [
            report["posted"] / (report["t1"] - report["t0"]) for report in reports
        ],
        "writer_cpu_s": [report["cpu"] for report in reports],
        "flush_s": max(report["sent_at"] for report in reports) - t1,
        "postgres_cpu_s": postgres_cpu,
        "redis_cpu_s": redis_cpu,
        "machine_busy_pct": 100 * (busy - cpu_machine[0]) / max(1e-9, total - cpu_machine[1]),
        "clean": stored["clean"] and stored["rows"] - warmups == posted,
        **counts,
    }


def count_rows(url: str, slugs: list[str]) -> dict[str, Any]:
    """The rooms' stored messages, and whether each room's seqs are 1..n, each once, matching
    its stream's head."""
    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT r.slug, count(m.id), count(DISTINCT m.seq), min(m.seq), max(m.seq), "
            "count(m.id) FILTER (WHERE m.seq IS NULL), max(s.last_seq) "
            "FROM notifications_room r "
            "LEFT JOIN notifications_message m ON m.room_id = r.id "
            "LEFT JOIN notifications_stream s ON s.key = 'room:' || r.slug "
            "WHERE r.slug = ANY(%s) GROUP BY r.slug",
            [slugs],
        ).fetchall()
    total = sum(row[1] for row in rows)
    bad = [
        row[0]
        for row in rows
        if row[1]
        and not (row[1] == row[2] == row[4] == (row[6] or 0) and row[3] == 1 and row[5] == 0)
    ]
    return {"rows": total, "rooms": len(rows), "bad_rooms": bad[:10], "clean": not bad}


# --------------------------------------------------------------------------------------------
# summary


def analyse(runs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    counted = [run for run in runs if run.get("repeat") is not None]
    latency = [run for run in counted if run.get("part") == "latency" and "error" not in run]
    errors = [run["label"] for run in counted if "error" in run]

    def med(items: list[dict[str, Any]], key: str) -> float | None:
        return median([item.get(key) for item in items])

    def med_list(items: list[dict[str, Any]], key: str) -> list[float | None]:
        width = max((len(item.get(key) or []) for item in items), default=0)
        return [median([item[key][index] for item in items]) for index in range(width)]

    once = bool(latency) and all(exactly_once(run) for run in latency)
    p99 = med(latency, "latency_p99_ms")
    throughput: dict[str, Any] = {}
    for rooms in sorted({run["rooms"] for run in counted if run.get("part") == "throughput"}):
        items = [
            run
            for run in counted
            if run.get("part") == "throughput" and run.get("rooms") == rooms and "error" not in run
        ]
        throughput[str(rooms)] = {
            "runs": len(items),
            "per_s": med(items, "per_s"),
            "per_repeat": [item["per_s"] for item in items],
            "postgres_cpu_s": med(items, "postgres_cpu_s"),
            "machine_busy_pct": med(items, "machine_busy_pct"),
            "window_s": med(items, "window_s"),
            "clean": all(item["clean"] for item in items),
        }
    return {
        "latency": {
            "runs": len(latency),
            "latency_p50_ms": med(latency, "latency_p50_ms"),
            "latency_p99_ms": p99,
            "latency_max_ms": med(latency, "latency_max_ms"),
            "p99_per_repeat": [run.get("latency_p99_ms") for run in latency],
            "ack_latency_p50_ms": med(latency, "ack_latency_p50_ms"),
            "ack_latency_p99_ms": med(latency, "ack_latency_p99_ms"),
            "achieved_rate": med(latency, "achieved_rate"),
            "server_cpu_pct": med_list(latency, "server_cpu_pct"),
            "postgres_cpu_pct": med(latency, "postgres_cpu_pct"),
            "redis_cpu_pct": med(latency, "redis_cpu_pct"),
            "receiver_cpu_pct": med(latency, "receiver_cpu_pct"),
            "sender_cpu_pct": med(latency, "sender_cpu_pct"),
            "machine_busy_pct": med(latency, "machine_busy_pct"),
            "events_per_frame": med(latency, "events_per_frame"),
            "exactly_once": once,
        },
        "throughput": throughput,
        "errors": errors,
        "goal": {
            "value": p99,
            "pass": p99 is not None and p99 <= GOAL_P99_MS and once and not errors,
        },
    }


def per_message(run: dict[str, Any], key: str) -> str:
    messages = run.get("acked") if run.get("part") == "latency" else run.get("posted")
    value = run.get(key)
    return fmt(value / messages, 2) if value is not None and messages else "-"


def markdown(report: dict[str, Any]) -> str:
    notes, config, analysis = report["machine"], report["config"], report["analysis"]
    latency, goal = analysis["latency"], analysis["goal"]
    verdict = "PASS" if goal["pass"] else "FAIL"
    members, rate = config["members"], config["rate"]
    lines = [
        f"## Chat run {notes['date_utc']}",
        "",
        f"- Machine: {notes['cpu_model']}, {notes['cpus_usable']} usable cores, "
        f"{notes['memory']}; Python {notes['python']}; {report['postgres_version']}; "
        f"{notes['redis_server'].split(' sha')[0]}",
        f"- Code: commit {notes['git_commit'][:12]}"
        + (
            f", uncommitted changes in {', '.join(notes['git_dirty'])}"
            if notes["git_dirty"]
            else ""
        )
        + f"; load average at start {notes['load_average_start'][0]:.2f}"
        + f"; run took {report['seconds'] / 60:.1f} min",
        f"- Config: {members:,} members in one public room over {config['servers']} daphne "
        f"processes ({config['procs']} receiver processes), {config['senders']} senders at "
        f"{rate:g} messages/s in total for {config['seconds']:g} s; throughput: "
        f"{config['writers']} writer processes for {config['seconds']:g} s into 1 room and "
        f"round robin over {config['rooms']} rooms; {config['repeats']} repeats",
        f"- Servers' environment: {', '.join(config['server_env'])} (so no benchmark message "
        "is refused by the per-user send rate)",
        f"- Command: `{report['command']}`",
        *([f"- Extra environment: {', '.join(config['env'])}"] if config.get("env") else []),
        "",
    ]
    if latency["runs"]:
        lines += [
            f"{members:,} members, {rate:g} messages/s: p99 {fmt(latency['latency_p99_ms'])} ms "
            f"(goal ≤ {GOAL_P99_MS:g} ms), **{verdict}**; delivered exactly once: "
            f"**{'yes' if latency['exactly_once'] else 'no'}**"
            + (f"; failed runs: {', '.join(analysis['errors'])}" if analysis["errors"] else ""),
            "",
        ]
    for rooms, row in analysis["throughput"].items():
        where = "one room" if rooms == "1" else f"{int(rooms):,} rooms"
        per = ", ".join(fmt(value, 0) for value in row["per_repeat"])
        lines.append(
            f"Stored messages/s into {where} ({config['writers']} writers): "
            f"**{fmt(row['per_s'], 0)}** ({per}); every message stored once, seqs gapless: "
            f"{'yes' if row['clean'] else '**no**'}"
        )
        lines.append("")
    if members < GOAL_MEMBERS or rate != GOAL_RATE or config["quick"]:
        lines += [
            f"(The goal is defined at {GOAL_MEMBERS:,} members and {GOAL_RATE:g} messages/s; "
            "this run is smaller, so the verdict is indicative only.)",
            "",
        ]
    runs = [run for run in report["runs"] if run.get("part") == "latency" or "error" in run]
    if any(run.get("part") == "latency" for run in runs):
        lines += [
            "### Latency (send to each member's receipt, over all deliveries)",
            "",
            "| repeat | p50 ms | p90 ms | p99 ms | max ms | deliveries | lost | dups | gaps "
            "| ack p50 / p99 ms | sent / acked | rate /s | events/frame | reconnects "
            "| server log |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
            "| --- | --- |",
        ]
    for run in runs:
        name = run["repeat"] if run.get("repeat") is not None else "profile"
        if "error" in run:
            lines.append(f"| {name} | error ({run['label']}): {run['error'][:200]} |" + " |" * 13)
            continue
        problems = [problem for problem in run.get("server_problems", []) if problem]
        lines.append(
            f"| {name} | {fmt(run.get('latency_p50_ms'))} | {fmt(run.get('latency_p90_ms'))} "
            f"| {fmt(run.get('latency_p99_ms'))} | {fmt(run.get('latency_max_ms'))} "
            f"| {run.get('got', 0):,} of {run.get('expected', 0):,} | {run.get('lost', 0)} "
            f"| {run.get('dups', 0)} | {run.get('seq_errors', 0) + run.get('out_of_order', 0)} "
            f"| {fmt(run.get('ack_latency_p50_ms'))} / {fmt(run.get('ack_latency_p99_ms'))} "
            f"| {run.get('sent')} / {run.get('acked')} | {fmt(run.get('achieved_rate'))} "
            f"| {fmt(run.get('events_per_frame'), 2)} | {run.get('reconnects', 0)} "
            f"| {problems or ''} |"
        )
    if latency["runs"]:
        lines += [
            f"| **median** | {fmt(latency['latency_p50_ms'])} | | "
            f"**{fmt(latency['latency_p99_ms'])}** | {fmt(latency['latency_max_ms'])} | | | | "
            f"| {fmt(latency['ack_latency_p50_ms'])} / {fmt(latency['ack_latency_p99_ms'])} "
            f"| | {fmt(latency['achieved_rate'])} | {fmt(latency['events_per_frame'], 2)} | | |",
            "",
            "Gaps: events whose seq was not the previous one's + 1, or out of order. Acks: the "
            "senders' `chat.send` to its `ack` (the message stored and committed).",
            "",
            "CPU during the sending window (% of one core; machine busy: over all cores):",
            "",
            "| repeat | window s | machine busy % | each daphne % | PostgreSQL % | Redis % "
            "| members (load tool) % | senders % | PostgreSQL sessions / commits per message |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for run in report["runs"]:
            if run.get("part") != "latency" or "error" in run:
                continue
            name = run["repeat"] if run.get("repeat") is not None else "profile"
            each = " / ".join(fmt(value, 0) for value in run.get("server_cpu_pct") or [])
            lines.append(
                f"| {name} | {fmt(run.get('window_s'))} | {fmt(run.get('machine_busy_pct'), 0)} "
                f"| {each} | {fmt(run.get('postgres_cpu_pct'), 0)} "
                f"| {fmt(run.get('redis_cpu_pct'), 0)} | {fmt(run.get('receiver_cpu_pct'), 0)} "
                f"| {fmt(run.get('sender_cpu_pct'), 0)} "
                f"| {per_message(run, 'postgres_sessions')} / "
                f"{per_message(run, 'postgres_commits')} |"
            )
        lines.append("")
    if analysis["throughput"]:
        lines += [
            "### Throughput (post_message in a loop, no readers)",
            "",
            "| repeat | rooms | writers | stored /s | per writer /s | rows | lost or extra "
            "| seqs gapless | PostgreSQL CPU s | machine busy % | window s "
            "| PostgreSQL sessions / commits per message |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for run in report["runs"]:
            if run.get("part") != "throughput":
                continue
            if "error" in run:
                lines.append(f"| {run['repeat']} | error ({run['label']}): {run['error'][:200]} |")
                continue
            each = " / ".join(fmt(value, 0) for value in run["per_writer_per_s"])
            lines.append(
                f"| {run['repeat']} | {run['rooms']} | {run['writers']} | {fmt(run['per_s'], 0)} "
                f"| {each} | {run['stored']['rows']:,} | {run['lost_or_extra']} "
                f"| {'yes' if run['stored']['clean'] else '**no**'} "
                f"| {fmt(run['postgres_cpu_s'], 2)} | {fmt(run['machine_busy_pct'], 0)} "
                f"| {fmt(run['window_s'])} | {per_message(run, 'postgres_sessions')} / "
                f"{per_message(run, 'postgres_commits')} |"
            )
        lines += [
            "",
            "Rows include one warm-up message per writer, posted before the window. Stored/s: "
            "the rows stored in the window / the window (first call to last return).",
            "",
        ]
    if report.get("profile"):
        lines += ["### Where the first daphne spends its time while members receive (py-spy)", ""]
        lines += ["```", report["profile"], "```", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 200 members, 5 s, 1 repeat"
    )
    parser.add_argument("--members", type=int, help="member connections in the room (1000)")
    parser.add_argument("--senders", type=int, default=10, help="sender connections (10)")
    parser.add_argument("--rate", type=float, default=100.0, help="messages/s in total (100)")
    parser.add_argument("--seconds", type=float, help="seconds of sending and writing (20)")
    parser.add_argument("--repeats", type=int, help="repeats of each part (3)")
    parser.add_argument("--rooms", type=int, default=100, help="rooms of the throughput part (100)")
    parser.add_argument("--writers", type=int, default=4, help="writer processes (4)")
    parser.add_argument("--servers", type=int, default=2, help="daphne processes (2)")
    parser.add_argument("--procs", type=int, default=2, help="receiver processes (2)")
    parser.add_argument(
        "--idle-wait",
        type=float,
        help="seconds between the last join and the first send, so the members' presence.join "
        "events (N x N / 2 deliveries) have drained (10; --quick 3)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=15.0,
        help="seconds without a delivery after which the missing ones count as lost",
    )
    parser.add_argument("--only", choices=["latency", "throughput"], help="run one part only")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the repeats, one extra (uncounted) latency run with py-spy on the first daphne",
    )
    parser.add_argument(
        "--postgres", default="postgres://postgres@127.0.0.1:5432/notifications_chat_bench"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="diagnostics: one more environment variable for every Django process; repeatable",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    args.members = args.members or (200 if args.quick else GOAL_MEMBERS)
    args.seconds = args.seconds or (5.0 if args.quick else 20.0)
    args.repeats = args.repeats or (1 if args.quick else 3)
    if args.idle_wait is None:
        args.idle_wait = 3.0 if args.quick else 10.0

    started = time.monotonic()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + "-chat"
    workdir = Path(tempfile.mkdtemp(prefix="notifications-chat-"))
    redis = servers.Redis(workdir)
    postgres_database(args.postgres)
    runs: list[dict[str, Any]] = []
    profile: str | None = None
    try:
        base = servers.django_env(workdir / "unused.sqlite3", redis.url)
        base["DATABASE_URL"] = args.postgres
        base.update(item.split("=", 1) for item in args.env)
        env = server_env(base, args.rate / args.senders)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=servers.ROOT,
            env=env,
            check=True,
        )
        users = args.members + args.senders + args.writers
        notifier(env, "--users", str(users))
        logins = log_in(env, users)
        members = [key for _, key in logins[: args.members]]
        senders = [key for _, key in logins[args.members : args.members + args.senders]]
        writers = [pk for pk, _ in logins[args.members + args.senders :]]
        import psycopg

        with psycopg.connect(args.postgres) as connection:
            row = connection.execute("SELECT version()").fetchone()
            postgres_version = str(row[0]).split(" on ")[0] if row else "PostgreSQL"
        notes = machine_notes(redis.version)
        print(f"# {args.members:,} members; server logs in {workdir}", file=sys.stderr)
        for repeat in range(1, args.repeats + 1):
            parts: list[tuple[str, Any]] = []
            if args.only in (None, "latency"):
                parts.append(
                    (
                        f"r{repeat}-latency",
                        lambda label: run_latency(
                            args=args,
                            env=env,
                            redis=redis,
                            members=members,
                            senders=senders,
                            log_dir=workdir,
                            label=label,
                        ),
                    )
                )
            if args.only in (None, "throughput"):
                pair = [1, args.rooms] if repeat % 2 else [args.rooms, 1]
                for rooms in pair:
                    parts.append(
                        (
                            f"r{repeat}-throughput-{rooms}",
                            lambda label, rooms=rooms: run_throughput(
                                args=args,
                                env=env,
                                redis=redis,
                                writers=writers,
                                rooms=rooms,
                                label=label,
                            ),
                        )
                    )
            for label, part in parts:
                clock = time.monotonic()
                try:
                    result = part(label)
                except Exception as error:
                    result = {"label": label, "error": repr(error)}
                    if "throughput" in label:
                        result.update(part="throughput", rooms=int(label.rsplit("-", 1)[1]))
                    else:
                        result.update(part="latency")
                result["repeat"] = repeat
                runs.append(result)
                print(
                    f"# {label} ({time.monotonic() - clock:.0f}s): "
                    + (result.get("error") or describe(result)),
                    file=sys.stderr,
                )
        if args.profile and args.only != "throughput":
            profile_path = args.out / f"{stamp}-profile-daphne.txt"
            args.out.mkdir(parents=True, exist_ok=True)
            result = run_latency(
                args=args,
                env=env,
                redis=redis,
                members=members,
                senders=senders,
                log_dir=workdir,
                label="profile",
                profile_to=profile_path,
            )
            result["repeat"] = None
            runs.append(result)
            profile = profile_summary(profile_path)
            print("# profile run: " + describe(result), file=sys.stderr)
    finally:
        redis.stop()
        drop_postgres_database(args.postgres)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    config = {
        "members": args.members,
        "senders": args.senders,
        "rate": args.rate,
        "seconds": args.seconds,
        "repeats": args.repeats,
        "rooms": args.rooms,
        "writers": args.writers,
        "servers": args.servers,
        "procs": args.procs,
        "idle_wait": args.idle_wait,
        "idle_timeout": args.idle_timeout,
        "quick": args.quick,
        "only": args.only,
        "env": args.env,
        "server_env": [f"{key}={value}" for key, value in sorted(env.items()) if key not in base],
    }
    report = {
        "machine": notes,
        "postgres_version": postgres_version,
        "config": config,
        "command": " ".join([".venv/bin/python -m benchmarks.chat", *sys.argv[1:]]),
        "runs": runs,
        "analysis": analyse(runs, args),
        "profile": profile,
        "seconds": time.monotonic() - started,
        "workdir": str(workdir) if args.keep else None,
    }
    write_results(args.out, stamp, report, markdown(report))


def describe(result: dict[str, Any]) -> str:
    if result.get("part") == "throughput":
        return (
            f"{result['rooms']} rooms, {result['writers']} writers: {fmt(result['per_s'], 0)} "
            f"stored/s ({result['stored']['rows']} rows, lost or extra "
            f"{result['lost_or_extra']}, clean {result['clean']}); per writer "
            f"{[round(value) for value in result['per_writer_per_s']]}; PostgreSQL CPU "
            f"{fmt(result['postgres_cpu_s'], 2)} s, machine busy "
            f"{fmt(result['machine_busy_pct'], 0)} %"
        )
    return (
        f"p50 {fmt(result.get('latency_p50_ms'))} ms, p99 {fmt(result.get('latency_p99_ms'))} "
        f"ms, max {fmt(result.get('latency_max_ms'))} ms; got {result.get('got')} of "
        f"{result.get('expected')} (lost {result.get('lost')}, dups {result.get('dups')}, "
        f"seq errors {result.get('seq_errors')}, out of order {result.get('out_of_order')}, "
        f"foreign {result.get('foreign')}, errors {result.get('errors')}); sent "
        f"{result.get('sent')}, acked {result.get('acked')} (send errors "
        f"{result.get('send_errors')}, ack p50/p99 {fmt(result.get('ack_latency_p50_ms'))}/"
        f"{fmt(result.get('ack_latency_p99_ms'))} ms), rate {fmt(result.get('achieved_rate'))}"
        f"/s; events/frame {fmt(result.get('events_per_frame'), 2)}; reconnects "
        f"{result.get('reconnects')}, closes {result.get('closes')}; connected "
        f"{result.get('connected')} in {fmt(result.get('connect_seconds'))} s; CPU % servers "
        f"{[round(value) for value in result.get('server_cpu_pct') or []]}, PostgreSQL "
        f"{fmt(result.get('postgres_cpu_pct'), 0)}, Redis {fmt(result.get('redis_cpu_pct'), 0)}"
        f", members {fmt(result.get('receiver_cpu_pct'), 0)}, senders "
        f"{fmt(result.get('sender_cpu_pct'), 0)}, machine {fmt(result.get('machine_busy_pct'), 0)}"
        f"; stored {result.get('stored')}; problems {result.get('server_problems')}"
    )


if __name__ == "__main__":
    main()
