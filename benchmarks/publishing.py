"""How fast one process publishes, and how long a 10,000-stream `publish_many` takes to reach
its readers.

    .venv/bin/python -m benchmarks.publishing            # 3 repeats, about 8 minutes
    .venv/bin/python -m benchmarks.publishing --quick    # a smoke test

It starts a private redis-server, a fresh SQLite database and a fresh PostgreSQL database
(`--postgres`, default `postgres://postgres@127.0.0.1:5432/notifications_bench`; created and
migrated, dropped afterwards), then, interleaved over the repeats:

  rates  one publisher process (`benchmarks/publisher.py`) publishes M events to one stream:
         `publish()` in a loop (sync: on commit, through the background sender) or
         `await apublish()` in a loop (async: each awaits its live send), on SQLite and on
         PostgreSQL, with the channels-redis layer and with the in-memory layer (no network
         hop: the database's share alone). With Redis, a daphne and one WebSocket reader of
         the stream check that every event arrives once, in order; the rate counts until the
         last live send left the publisher. The publisher's CPU share tells what limits it.
  bulk   200 WebSocket readers subscribed to 50 rooms each (10,000 streams, one daphne), then
         one `publish_many` of one event to each of the 10,000 rooms; timed from the call to
         the last event reaching its reader (goal on PostgreSQL: <= 1 s), every stream checked
         for exactly its one event.

It writes `results/<timestamp>-publishing.json` and `.md` and prints the Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks import servers
from benchmarks.run import RESULTS, fmt, machine_notes, median, write_results
from benchmarks.scale import (
    answer_ping,
    await_subscribed,
    create_rooms,
    open_readers,
    rooms_by_connection,
)


def publisher(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.publisher", *args],
        cwd=servers.ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 300) -> dict[str, Any]:
    out, _ = process.communicate(timeout=timeout)
    if process.returncode:
        raise RuntimeError(f"the publisher failed ({process.returncode})")
    return dict(json.loads(out.strip().splitlines()[-1]))


async def read_until(connection: Any, last_seq: int, timeout: float) -> list[int]:
    seqs: list[int] = []
    async with asyncio.timeout(timeout):
        while not seqs or seqs[-1] < last_seq:
            message = json.loads(await connection.recv())
            for frame in message if isinstance(message, list) else [message]:
                answer_ping(connection, frame)
                if frame.get("type") == "event":
                    seqs.append(frame["seq"])
    return seqs


def run_rate(
    *,
    database: str,
    layer: str,
    mode: str,
    events: int,
    envs: dict[str, dict[str, str]],
    redis: servers.Redis,
    sessions: list[str],
    log_dir: Path,
    label: str,
) -> dict[str, Any]:
    env = dict(envs[database])
    if layer == "memory":
        env.pop("REDIS_URL", None)
    room = f"p{uuid.uuid4().hex[:8]}"
    stream = f"room:{room}"
    create_rooms(env, [room])
    args = [mode, "--events", str(events), "--stream", stream]
    if layer == "memory":
        result = finish(publisher(env, *args))
        integrity = None
    else:
        redis.flushall()
        with servers.Server("daphne", "ours", env, log_dir, label) as server:

            async def measure() -> tuple[dict[str, Any], list[int]]:
                (reader,) = await open_readers(server.port, sessions[:1], [[stream]])
                await await_subscribed([reader], 1)
                process = publisher(env, *args)
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(None, finish, process)
                seqs = await read_until(reader, result["last_seq"], 60)
                await reader.close()
                return result, seqs

            result, seqs = asyncio.run(measure())
        expected = list(range(result["first_seq"], result["last_seq"] + 1))
        integrity = {
            "received": len(seqs),
            "lost": len(set(expected) - set(seqs)),
            "dups": len(seqs) - len(set(seqs)),
            "out_of_order": sum(1 for a, b in itertools.pairwise(seqs) if b <= a),
        }
    seconds = result["sent"] - result["t0"]
    return {
        "label": label,
        "database": database,
        "layer": layer,
        "mode": mode,
        "events": events,
        "seconds": seconds,
        "per_s": events / seconds,
        "store_per_s": events / (result["stored"] - result["t0"]),
        "publisher_cpu_pct": 100 * result["cpu"] / seconds,
        "integrity": integrity,
    }


def run_bulk(
    *,
    database: str,
    count: int,
    per_connection: int,
    envs: dict[str, dict[str, str]],
    redis: servers.Redis,
    sessions: list[str],
    log_dir: Path,
    label: str,
) -> dict[str, Any]:
    env = envs[database]
    redis.flushall()
    prefix = f"b{uuid.uuid4().hex[:8]}"
    connections = count // per_connection
    names = rooms_by_connection(prefix, connections, per_connection)
    create_rooms(env, [name.split(":", 1)[1] for group in names for name in group])
    # The readers read only while they subscribe and while they are measured: heartbeats
    # (which close a connection whose pong is late) are spaced beyond the run.
    quiet = {**env, "NOTIFICATIONS_HEARTBEAT_INTERVAL": "600"}
    with servers.Server("daphne", "ours", quiet, log_dir, label) as server:

        async def measure() -> dict[str, Any]:
            readers = await open_readers(server.port, sessions[:connections], names)
            await await_subscribed(readers, per_connection)
            received: dict[str, list[int]] = {}
            last_at = 0.0

            async def read(reader: Any, expected: int) -> None:
                nonlocal last_at
                got = 0
                while got < expected:
                    message = json.loads(await reader.recv())
                    for frame in message if isinstance(message, list) else [message]:
                        answer_ping(reader, frame)
                        if frame.get("type") == "event":
                            received.setdefault(frame["stream"], []).append(frame["seq"])
                            got += 1
                            last_at = max(last_at, time.time())

            loop = asyncio.get_running_loop()
            process = publisher(
                env, "many", "--streams-prefix", f"room:{prefix}", "--count", str(count), "--wait"
            )
            assert process.stdin is not None and process.stdout is not None
            await loop.run_in_executor(None, process.stdout.readline)
            await asyncio.sleep(1.0)
            process.stdin.write("go\n")
            process.stdin.flush()
            try:
                async with asyncio.timeout(60):
                    await asyncio.gather(*(read(reader, per_connection) for reader in readers))
            except TimeoutError:
                pass
            result = await loop.run_in_executor(None, finish, process)
            for reader in readers:
                await reader.close()
            streams = [name for group in names for name in group]
            return {
                "seconds_to_last_reader": last_at - result["t0"] if last_at else None,
                "seconds_to_commit": result["stored"] - result["t0"],
                "seconds_to_sent": result["sent"] - result["t0"],
                "publisher_cpu_s": result["cpu"],
                "integrity": {
                    "received": sum(len(seqs) for seqs in received.values()),
                    "lost": sum(1 for stream in streams if not received.get(stream)),
                    "dups": sum(len(seqs) - 1 for seqs in received.values() if len(seqs) > 1),
                    "out_of_order": 0,
                },
            }

        result = asyncio.run(measure())
    result.update(label=label, database=database, streams=count)
    return result


def postgres_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_postgres_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clean(item: dict[str, Any] | None) -> bool:
    return item is None or not (item["lost"] or item["dups"] or item["out_of_order"])


def analyse(rates: list[dict[str, Any]], bulk: list[dict[str, Any]]) -> dict[str, Any]:
    table: dict[str, dict[str, Any]] = {}
    for run in rates:
        if "error" in run:
            continue
        key = f"{run['database']} {run['layer']} {run['mode']}"
        table.setdefault(key, {"runs": []})["runs"].append(run)
    for row in table.values():
        runs = row.pop("runs")
        row.update(
            runs=len(runs),
            per_s=median([run["per_s"] for run in runs]),
            store_per_s=median([run["store_per_s"] for run in runs]),
            publisher_cpu_pct=median([run["publisher_cpu_pct"] for run in runs]),
            clean=all(clean(run["integrity"]) for run in runs),
        )
    bulk_table: dict[str, dict[str, Any]] = {}
    for run in bulk:
        if "error" in run:
            continue
        bulk_table.setdefault(run["database"], {"runs": []})["runs"].append(run)
    for row in bulk_table.values():
        runs = row.pop("runs")
        row.update(
            runs=len(runs),
            seconds_to_last_reader=median([run["seconds_to_last_reader"] for run in runs]),
            per_repeat=[run["seconds_to_last_reader"] for run in runs],
            seconds_to_commit=median([run["seconds_to_commit"] for run in runs]),
            seconds_to_sent=median([run["seconds_to_sent"] for run in runs]),
            clean=all(clean(run["integrity"]) for run in runs),
        )
    errors = [run["label"] for run in [*rates, *bulk] if "error" in run]
    pg = bulk_table.get("postgresql", {}).get("seconds_to_last_reader")
    all_clean = all(row["clean"] for row in [*table.values(), *bulk_table.values()])
    return {
        "rates": table,
        "bulk": bulk_table,
        "criteria": {
            "publish_many of 10,000 events to 10,000 streams on PostgreSQL, to the last "
            "reader, <= 1 s": {"value": pg, "pass": pg is not None and pg <= 1.0},
            "nothing lost, duplicated or reordered": {
                "value": len(errors),
                "pass": all_clean and not errors,
            },
        },
        "errors": errors,
    }


def markdown(report: dict[str, Any]) -> str:
    notes, config, analysis = report["machine"], report["config"], report["analysis"]
    lines = [
        f"## Publishing run {notes['date_utc']}",
        "",
        f"- Machine: {notes['cpu_model']}, {notes['cpus_usable']} usable cores, "
        f"{notes['memory']}; Python {notes['python']}; {notes['redis_server'].split(' sha')[0]}; "
        f"{report['postgres_version']}",
        f"- Code: commit {notes['git_commit'][:12]}; run took {report['seconds'] / 60:.1f} min",
        f"- Config: M={config['events']} events per rate run, bulk {config['bulk_streams']:,} "
        f"streams ({config['per_connection']} per connection), {config['repeats']} repeats",
        f"- Command: `{report['command']}`",
        "",
        "| criterion | measured (median) | verdict |",
        "| --- | --- | --- |",
    ]
    for name, item in analysis["criteria"].items():
        verdict = "PASS" if item["pass"] else "FAIL"
        lines.append(f"| {name} | {fmt(item['value'], 2)} | **{verdict}** |")
    lines += [
        "",
        "| database, layer, API | events/s (sent) | events/s (stored) | publisher CPU % "
        "| every event once, in order |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, row in analysis["rates"].items():
        checked = "yes" if row["clean"] else "**no**"
        if "memory" in key:
            checked = "(no reader)"
        lines.append(
            f"| {key} | {fmt(row['per_s'])} | {fmt(row['store_per_s'])} "
            f"| {fmt(row['publisher_cpu_pct'])} | {checked} |"
        )
    lines += [
        "",
        "| bulk: database | to the last reader, s (per repeat) | committed, s | sent, s "
        "| every stream its event once |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, row in analysis["bulk"].items():
        per = ", ".join(fmt(value, 2) for value in row["per_repeat"])
        lines.append(
            f"| {key} | {fmt(row['seconds_to_last_reader'], 2)} ({per}) "
            f"| {fmt(row['seconds_to_commit'], 2)} | {fmt(row['seconds_to_sent'], 2)} "
            f"| {'yes' if row['clean'] else '**no**'} |"
        )
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int, help="events per rate run (2000)")
    parser.add_argument("--bulk-streams", type=int, help="streams of the bulk run (10000)")
    parser.add_argument("--per-connection", type=int, default=50)
    parser.add_argument("--repeats", type=int)
    parser.add_argument(
        "--postgres", default="postgres://postgres@127.0.0.1:5432/notifications_bench"
    )
    parser.add_argument("--only", help="rates or bulk")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    defaults = (
        {"events": 300, "bulk_streams": 1000, "repeats": 1}
        if args.quick
        else {"events": 2000, "bulk_streams": 10000, "repeats": 3}
    )
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)

    started = time.monotonic()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + "-publishing"
    workdir = Path(tempfile.mkdtemp(prefix="notifications-publishing-"))
    redis = servers.Redis(workdir)
    rates: list[dict[str, Any]] = []
    bulk: list[dict[str, Any]] = []
    postgres_database(args.postgres)
    try:
        sqlite_env = servers.django_env(workdir / "db.sqlite3", redis.url)
        envs = {"sqlite": sqlite_env, "postgresql": {**sqlite_env, "DATABASE_URL": args.postgres}}
        connections = args.bulk_streams // args.per_connection
        sessions = {
            name: servers.prepare_database(env, max(connections, 1)) for name, env in envs.items()
        }
        import psycopg

        with psycopg.connect(args.postgres) as connection:
            row = connection.execute("select version()").fetchone()
            postgres_version = str(row[0]).split(" on ")[0] if row else "PostgreSQL"
        notes = machine_notes(redis.version)
        for repeat in range(1, args.repeats + 1):
            if args.only in (None, "rates"):
                for database in ("sqlite", "postgresql"):
                    for layer in ("redis", "memory"):
                        modes = ["sync", "async"] if repeat % 2 else ["async", "sync"]
                        for mode in modes:
                            label = f"r{repeat}-{database}-{layer}-{mode}"
                            try:
                                result = run_rate(
                                    database=database,
                                    layer=layer,
                                    mode=mode,
                                    events=args.events,
                                    envs=envs,
                                    redis=redis,
                                    sessions=sessions[database],
                                    log_dir=workdir,
                                    label=label,
                                )
                            except Exception as error:
                                result = {"label": label, "error": repr(error)}
                            result["repeat"] = repeat
                            rates.append(result)
                            print(f"# {label}: {result}", file=sys.stderr)
            if args.only in (None, "bulk"):
                for database in ("postgresql", "sqlite"):
                    label = f"r{repeat}-bulk-{database}"
                    try:
                        result = run_bulk(
                            database=database,
                            count=args.bulk_streams,
                            per_connection=args.per_connection,
                            envs=envs,
                            redis=redis,
                            sessions=sessions[database],
                            log_dir=workdir,
                            label=label,
                        )
                    except Exception as error:
                        result = {"label": label, "error": repr(error)}
                    result["repeat"] = repeat
                    bulk.append(result)
                    print(f"# {label}: {result}", file=sys.stderr)
    finally:
        redis.stop()
        drop_postgres_database(args.postgres)
        shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "machine": notes,
        "postgres_version": postgres_version,
        "config": {
            key: getattr(args, key)
            for key in ("events", "bulk_streams", "per_connection", "repeats", "quick")
        },
        "command": " ".join([".venv/bin/python -m benchmarks.publishing", *sys.argv[1:]]),
        "rates": rates,
        "bulk": bulk,
        "analysis": analyse(rates, bulk),
        "seconds": time.monotonic() - started,
        "environment": {key: value for key, value in os.environ.items() if key == "PYTHONHASHSEED"},
    }
    write_results(args.out, stamp, report, markdown(report))


if __name__ == "__main__":
    main()
