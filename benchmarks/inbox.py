"""How long one `notify()` to many users takes on PostgreSQL, with Redis.

    .venv/bin/python -m benchmarks.inbox            # 3 repeats of 10,000 and 100,000 users
    .venv/bin/python -m benchmarks.inbox --quick    # a smoke test: 1,000 users, 1 repeat

It starts a private redis-server, creates a fresh PostgreSQL database (`--postgres`, default
`postgres://postgres@127.0.0.1:5432/notifications_inbox_bench`; dropped afterwards), migrates
it and creates the users. Then each repeat, one `notify()` to the first N users, in a process
of its own (`benchmarks/notifier.py`): the seconds until it returned (every row stored,
committed batch by batch) and until every live send left, its queries and its channel-layer
messages. Goal: 100,000 users in at most 5 s.

It writes `results/<timestamp>-inbox.json` and `.md` and prints the Markdown.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import servers
from benchmarks.publishing import drop_postgres_database, postgres_database
from benchmarks.run import RESULTS, fmt, machine_notes, median, write_results


def notifier(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.notifier", *args],
        cwd=servers.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"the notifier failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def markdown(report: dict[str, Any]) -> str:
    notes = report["machine"]
    lines = [
        f"## Inbox run {notes['date_utc']}",
        "",
        f"- Machine: {notes['cpu_model']}, {notes['cpus_usable']} usable cores; "
        f"{report['postgres_version']}; {notes['redis_server'].split(' sha')[0]}",
        f"- Code: commit {notes['git_commit'][:12]}; run took {report['seconds'] / 60:.1f} min",
        f"- Command: `{report['command']}`",
        "",
        "| users | stored, s (per repeat) | sent, s | queries | layer messages | CPU s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for count, row in report["table"].items():
        per = ", ".join(f"{run['seconds']:.2f}" for run in row["runs"])
        lines.append(
            f"| {int(count):,} | {fmt(row['seconds'], 2)} ({per}) | {fmt(row['sent'], 2)} "
            f"| {fmt(row['queries'], 0)} | {fmt(row['layer_messages'], 0)} "
            f"| {fmt(row['cpu'], 2)} |"
        )
    goal = report["goal"]
    verdict = "PASS" if goal["pass"] else "FAIL"
    lines += ["", f"Goal: 100,000 users in at most 5 s: {fmt(goal['value'], 2)} s, **{verdict}**."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--counts", help="comma-separated audience sizes (10000,100000)")
    parser.add_argument("--repeats", type=int)
    parser.add_argument(
        "--postgres", default="postgres://postgres@127.0.0.1:5432/notifications_inbox_bench"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    counts = [
        int(c) for c in (args.counts or ("1000" if args.quick else "10000,100000")).split(",")
    ]
    repeats = args.repeats or (1 if args.quick else 3)
    started = time.monotonic()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + "-inbox"
    workdir = Path(tempfile.mkdtemp(prefix="notifications-inbox-"))
    redis = servers.Redis(workdir)
    postgres_database(args.postgres)
    runs: list[dict[str, Any]] = []
    try:
        env = {**servers.django_env(workdir / "unused.sqlite3", redis.url)}
        env["DATABASE_URL"] = args.postgres
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=servers.ROOT,
            env=env,
            check=True,
        )
        notifier(env, "--users", str(max(counts)))
        import psycopg

        with psycopg.connect(args.postgres) as connection:
            row = connection.execute("SELECT version()").fetchone()
            postgres_version = str(row[0]).split(" on ")[0] if row else "PostgreSQL"
        notes = machine_notes(redis.version)
        for repeat in range(1, repeats + 1):
            for count in counts if repeat % 2 else reversed(counts):
                redis.flushall()
                result = notifier(env, "--count", str(count))
                result.update(repeat=repeat, count=count)
                runs.append(result)
                print(f"# r{repeat} {count:,} users: {result}", file=sys.stderr)
    finally:
        redis.stop()
        drop_postgres_database(args.postgres)
        shutil.rmtree(workdir, ignore_errors=True)
    table = {}
    for count in counts:
        mine = [run for run in runs if run["count"] == count]
        table[str(count)] = {
            "runs": mine,
            **{
                key: median([run[key] for run in mine])
                for key in ("seconds", "sent", "queries", "layer_messages", "cpu")
            },
        }
    largest = table.get("100000", {}).get("sent")
    report = {
        "machine": notes,
        "postgres_version": postgres_version,
        "command": " ".join([".venv/bin/python -m benchmarks.inbox", *sys.argv[1:]]),
        "runs": runs,
        "table": table,
        "goal": {"value": largest, "pass": largest is not None and largest <= 5},
        "seconds": time.monotonic() - started,
    }
    write_results(args.out, stamp, report, markdown(report))


if __name__ == "__main__":
    main()
