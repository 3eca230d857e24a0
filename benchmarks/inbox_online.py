"""N users online, each on their own `user:<id>` stream, over 2 daphne processes: one
`notify()` to all of them, and the time until the last one has it.

    .venv/bin/python -m benchmarks.inbox_online            # 10,000 users, 3 repeats
    .venv/bin/python -m benchmarks.inbox_online --quick    # a smoke test: 500 users, 1 repeat

It starts a private redis-server, creates a fresh PostgreSQL database (`--postgres`, default
`postgres://postgres@127.0.0.1:5432/notifications_inbox_online_bench`; dropped afterwards),
migrates it, creates the N users (`notifier.py --users`) and logs each of them in once
(`session.py --first`: sessions written in bulk, read by the servers through Django's session
and auth code). Then each repeat, with a flushed Redis and fresh servers:

  - `--servers` (2) daphne processes of the demo project (`python -m notifications.server`);
  - N WebSockets (the load tool's `inbox` mode, `--procs` receiver processes), receiver i
    logged in as user i and subscribed to `user:<pk of user i>` (which only that user may
    read), alternating between the servers; it waits until every one is subscribed;
  - each server's RSS before the first connection (after 10 opened and closed) and
    `--idle-wait` seconds after the last one subscribed: KB per connection = the growth
    summed over the servers / N (and per server, over its N / servers connections);
  - one `notify()` to all N users from a process of its own (`notifier.py --wait`);
    each receiver records when its `notification.created` arrived (`time.time()`, one clock
    for every process on the machine), from the moment notify() was called: the last
    one, the median and p99, and how many got it exactly once; and, over the same window,
    how busy the machine was and the CPU of the notifier, PostgreSQL, each daphne, Redis
    and the load tool (what limits it, on a machine they all share).

Goal: the last of 10,000 within 2 s (median over the repeats), nothing lost or duplicated in
any run. It writes `results/<timestamp>-inbox-online.json` and `.md` and prints the Markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import loadtool, servers
from benchmarks.inbox import notifier
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

GOAL_SECONDS = 2.0
GOAL_USERS = 10_000


def log_in(env: dict[str, str], users: int) -> list[tuple[int, str]]:
    """`(pk, session key)` of the first `users` users, one login session each."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.session", "--first", str(users)],
        cwd=servers.ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pairs = [(int(pk), key) for pk, key in (line.split() for line in out.splitlines() if line)]
    first = pairs[0][0]
    # notifier.py --count N notifies the pks first .. first + N - 1.
    assert [pk for pk, _ in pairs] == list(range(first, first + users)), "pks are not consecutive"
    return pairs


def run_once(
    *,
    args: argparse.Namespace,
    env: dict[str, str],
    redis: servers.Redis,
    logins: list[tuple[int, str]],
    log_dir: Path,
    label: str,
    profile_to: Path | None = None,
) -> dict[str, Any]:
    redis.flushall()
    with contextlib.ExitStack() as stack:
        started = [
            stack.enter_context(
                servers.Server("daphne", "ours", env, log_dir, f"{label}-server{index + 1}")
            )
            for index in range(args.servers)
        ]
        profiler = servers.Profiler(started[0].pid, profile_to)
        result = loadtool.run_load(
            "inbox",
            "ours",
            port=started[0].port,
            ports=[server.port for server in started],
            receivers=len(logins),
            procs=args.procs,
            sessions=[key for _, key in logins],
            streams=[f"user:{pk}" for pk, _ in logins],
            server_pids=[server.pid for server in started],
            redis_pid=redis.pid,
            env=env,
            idle_wait=args.idle_wait,
            idle_timeout=args.idle_timeout,
            on_go=profiler.start,
            on_done=profiler.stop,
        )
        time.sleep(0.5)
        logs = [server.log_path.read_text(errors="replace") for server in started]
    result.update(label=label, server_problems=[server_problems(log) for log in logs])
    return result


def analyse(runs: list[dict[str, Any]], users: int) -> dict[str, Any]:
    counted = [run for run in runs if run.get("repeat") is not None and "error" not in run]
    errors = [run["label"] for run in runs if "error" in run]

    def med(key: str) -> float | None:
        return median([run.get(key) for run in counted])

    def med_list(key: str) -> list[float | None]:
        width = max((len(run.get(key) or []) for run in counted), default=0)
        return [median([run[key][index] for run in counted]) for index in range(width)]

    lost = sum(int(run.get("lost", 0)) for run in runs if run.get("repeat") is not None)
    lost += users * len(errors)
    dups = sum(int(run.get("dups", 0)) for run in counted)
    last = med("seconds")
    return {
        "medians": {
            "seconds_to_last": last,
            "latency_p50_ms": med("latency_p50_ms"),
            "latency_p99_ms": med("latency_p99_ms"),
            "first_delivery_s": med("first_delivery_s"),
            "notify_returned_s": med("notify_returned_s"),
            "notify_sent_s": med("notify_sent_s"),
            "exactly_once": med("exactly_once"),
            "connect_seconds": med("connect_seconds"),
            "kb_per_connection": med("kb_per_connection"),
            "kb_per_connection_by_server": med_list("kb_per_connection_by_server"),
            "receiver_kb_per_connection": med("receiver_kb_per_connection"),
            "server_cpu_s": med_list("server_cpu_s"),
            "idle_server_cpu_pct": med_list("idle_server_cpu_pct"),
            "machine_busy_pct": med("machine_busy_pct"),
            "postgres_cpu_s": med("postgres_cpu_s"),
            "notify_queries": med("notify_queries"),
            "notify_layer_messages": med("notify_layer_messages"),
            "sender_cpu_s": med("sender_cpu_s"),
        },
        "lost": lost,
        "dups": dups,
        "errors": errors,
        "goal": {
            "value": last,
            "pass": last is not None and last <= GOAL_SECONDS and not lost and not dups,
        },
    }


def markdown(report: dict[str, Any]) -> str:
    notes, config, analysis = report["machine"], report["config"], report["analysis"]
    users = config["users"]
    medians = analysis["medians"]
    goal = analysis["goal"]
    verdict = "PASS" if goal["pass"] else "FAIL"
    lines = [
        f"## Inbox online run {notes['date_utc']}",
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
        + f"; run took {report['seconds'] / 60:.1f} min",
        f"- Config: {users:,} users online, one WebSocket each on its own `user:<id>` stream, "
        f"over {config['servers']} daphne processes; {config['procs']} receiver processes; "
        f"{config['repeats']} repeats, each with fresh servers and one new notification",
        f"- Command: `{report['command']}`",
        *([f"- Extra environment: {', '.join(config['env'])}"] if config.get("env") else []),
        "",
        f"{users:,} users online: last one within {GOAL_SECONDS:g} s: "
        f"{fmt(goal['value'], 2)} s, **{verdict}**; lost {analysis['lost']}, "
        f"duplicates {analysis['dups']}"
        + (f"; failed runs: {', '.join(analysis['errors'])}" if analysis["errors"] else ""),
        "",
    ]
    if users < GOAL_USERS:
        lines += [f"(The goal is defined at {GOAL_USERS:,} users; this verdict is indicative.)", ""]
    lines += [
        "| repeat | to the last, s | p50, s | p99, s | first, s | notify() returned, s "
        "| sends left, s | exactly once | lost | dups | connect, s | KB / conn (all servers) "
        "| KB / conn per server | load tool KB / conn | server CPU s | server log |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
        "| --- | --- |",
    ]

    def seconds(ms: float | None) -> str:
        return fmt(None if ms is None else ms / 1000, 2)

    def each(values: list[Any] | None, digits: int = 1) -> str:
        return " / ".join(fmt(value, digits) for value in values or [])

    for run in report["runs"]:
        name = run["repeat"] if run.get("repeat") is not None else "profile"
        if "error" in run:
            lines.append(f"| {name} | error: {run['error'][:200]} |" + " |" * 14)
            continue
        problems = [problem for problem in run.get("server_problems", []) if problem]
        lines.append(
            f"| {name} | {fmt(run.get('seconds'), 2)} | {seconds(run.get('latency_p50_ms'))} "
            f"| {seconds(run.get('latency_p99_ms'))} | {fmt(run.get('first_delivery_s'), 2)} "
            f"| {fmt(run.get('notify_returned_s'), 2)} | {fmt(run.get('notify_sent_s'), 2)} "
            f"| {run.get('exactly_once', 0):,} | {run.get('lost', 0)} | {run.get('dups', 0)} "
            f"| {fmt(run.get('connect_seconds'), 0)} | {fmt(run.get('kb_per_connection'))} "
            f"| {each(run.get('kb_per_connection_by_server'))} "
            f"| {fmt(run.get('receiver_kb_per_connection'))} "
            f"| {each(run.get('server_cpu_s'), 2)} | {problems or ''} |"
        )
    lines.append(
        f"| **median** | **{fmt(medians['seconds_to_last'], 2)}** "
        f"| {seconds(medians['latency_p50_ms'])} | {seconds(medians['latency_p99_ms'])} "
        f"| {fmt(medians['first_delivery_s'], 2)} | {fmt(medians['notify_returned_s'], 2)} "
        f"| {fmt(medians['notify_sent_s'], 2)} | {fmt(medians['exactly_once'], 0)} "
        f"| {analysis['lost']} | {analysis['dups']} | {fmt(medians['connect_seconds'], 0)} "
        f"| {fmt(medians['kb_per_connection'])} "
        f"| {each(medians['kb_per_connection_by_server'])} "
        f"| {fmt(medians['receiver_kb_per_connection'])} "
        f"| {each(medians['server_cpu_s'], 2)} | |"
    )
    lines += [
        "",
        'Times are from the moment notify() was called. "First" is the first user to have '
        'it; "notify() returned": every batch stored and committed; "sends left": every '
        "live send handed to Redis. Server CPU: each daphne's user + system time from the "
        "call until the last receiver reported.",
        "",
        f"notify() (median): {fmt(medians['notify_queries'], 0)} queries, "
        f"{fmt(medians['notify_layer_messages'], 0)} channel-layer messages, "
        f"{fmt(medians['sender_cpu_s'], 2)} s of its process's CPU. Servers' CPU while "
        f"the {users:,} connections sat idle before it: "
        f"{each(medians['idle_server_cpu_pct'], 0)} %.",
        "",
    ]
    lines += [
        "CPU from the call until the last user had it (machine busy: over all cores, "
        "100 % = every core busy all the time):",
        "",
        "| repeat | window, s | machine busy, % | notifier CPU s | PostgreSQL CPU s "
        "| each daphne CPU s | Redis CPU s | load tool CPU s | each daphne idle CPU % before |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in report["runs"]:
        if "error" in run:
            continue
        name = run["repeat"] if run.get("repeat") is not None else "profile"
        lines.append(
            f"| {name} | {fmt(run.get('window_s'), 2)} | {fmt(run.get('machine_busy_pct'), 0)} "
            f"| {fmt(run.get('sender_cpu_s'), 2)} | {fmt(run.get('postgres_cpu_s'), 2)} "
            f"| {each(run.get('server_cpu_s'), 2)} | {fmt(run.get('redis_cpu_s'), 2)} "
            f"| {fmt(run.get('receiver_cpu_s'), 2)} | {each(run.get('idle_server_cpu_pct'), 0)} |"
        )
    lines.append("")
    if report.get("profile"):
        lines += ["### Where the first daphne spends its time during the notify (py-spy)", ""]
        lines += ["```", report["profile"], "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: 500 users, 1 repeat")
    parser.add_argument("--users", type=int, help="users online (10000)")
    parser.add_argument("--repeats", type=int, help="runs, each with one new notification (3)")
    parser.add_argument("--servers", type=int, default=2, help="daphne processes (2)")
    parser.add_argument("--procs", type=int, default=2, help="receiver processes (2)")
    parser.add_argument("--idle-wait", type=float, default=5.0, help="seconds before the RSS")
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=15.0,
        help="seconds without a delivery after which the missing ones count as lost",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the repeats, one extra (uncounted) run with py-spy on the first daphne",
    )
    parser.add_argument(
        "--postgres",
        default="postgres://postgres@127.0.0.1:5432/notifications_inbox_online_bench",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="diagnostics: one more environment variable for every Django process (e.g. "
        "NOTIFICATIONS_SESSION_REVALIDATE_INTERVAL=3600); repeatable",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    users = args.users or (500 if args.quick else GOAL_USERS)
    args.repeats = args.repeats or (1 if args.quick else 3)

    started = time.monotonic()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + "-inbox-online"
    workdir = Path(tempfile.mkdtemp(prefix="notifications-inbox-online-"))
    redis = servers.Redis(workdir)
    postgres_database(args.postgres)
    runs: list[dict[str, Any]] = []
    profile: str | None = None
    try:
        env = servers.django_env(workdir / "unused.sqlite3", redis.url)
        env["DATABASE_URL"] = args.postgres
        env.update(item.split("=", 1) for item in args.env)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=servers.ROOT,
            env=env,
            check=True,
        )
        notifier(env, "--users", str(users))
        logins = log_in(env, users)
        import psycopg

        with psycopg.connect(args.postgres) as connection:
            row = connection.execute("SELECT version()").fetchone()
            postgres_version = str(row[0]).split(" on ")[0] if row else "PostgreSQL"
        notes = machine_notes(redis.version)
        print(f"# {users:,} users; server logs in {workdir}", file=sys.stderr)
        for repeat in range(1, args.repeats + 1):
            label = f"r{repeat}"
            clock = time.monotonic()
            try:
                result = run_once(
                    args=args, env=env, redis=redis, logins=logins, log_dir=workdir, label=label
                )
            except Exception as error:
                result = {"label": label, "error": repr(error)}
            result["repeat"] = repeat
            runs.append(result)
            print(
                f"# {label} ({time.monotonic() - clock:.0f}s): "
                + (result.get("error") or describe(result)),
                file=sys.stderr,
            )
        if args.profile:
            profile_path = args.out / f"{stamp}-profile-daphne.txt"
            args.out.mkdir(parents=True, exist_ok=True)
            result = run_once(
                args=args,
                env=env,
                redis=redis,
                logins=logins,
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
        "users": users,
        "servers": args.servers,
        "procs": args.procs,
        "repeats": args.repeats,
        "idle_wait": args.idle_wait,
        "idle_timeout": args.idle_timeout,
        "quick": args.quick,
        "env": args.env,
    }
    report = {
        "machine": notes,
        "postgres_version": postgres_version,
        "config": config,
        "command": " ".join([".venv/bin/python -m benchmarks.inbox_online", *sys.argv[1:]]),
        "runs": runs,
        "analysis": analyse(runs, users),
        "profile": profile,
        "seconds": time.monotonic() - started,
        "workdir": str(workdir) if args.keep else None,
    }
    write_results(args.out, stamp, report, markdown(report))


def describe(result: dict[str, Any]) -> str:
    def ms(key: str) -> str:
        value = result.get(key)
        return "-" if value is None else f"{value / 1000:.2f}"

    return (
        f"last {fmt(result.get('seconds'), 2)} s, p50 {ms('latency_p50_ms')} s, "
        f"p99 {ms('latency_p99_ms')} s, first {fmt(result.get('first_delivery_s'), 2)} s, "
        f"returned {fmt(result.get('notify_returned_s'), 2)} s, "
        f"sent {fmt(result.get('notify_sent_s'), 2)} s; exactly once "
        f"{result.get('exactly_once')}/{result.get('receivers')}, lost {result.get('lost')}, "
        f"dups {result.get('dups')}, foreign {result.get('foreign')}, "
        f"reconnects {result.get('reconnects')}, errors {result.get('errors')}, "
        f"closes {result.get('closes')}; connected {result.get('connected')} in "
        f"{fmt(result.get('connect_seconds'), 0)} s; "
        f"KB/conn {fmt(result.get('kb_per_connection'))} "
        f"(per server {result.get('kb_per_connection_by_server')}), load tool "
        f"{fmt(result.get('receiver_kb_per_connection'))}; idle server CPU % "
        f"{result.get('idle_server_cpu_pct')}; server CPU {result.get('server_cpu_s')}"
        f"; problems {result.get('server_problems')}"
    )


if __name__ == "__main__":
    main()
