"""Many small streams: what it costs to spread the same receivers over K streams, and what an
idle subscribed stream holds.

    .venv/bin/python -m benchmarks.scale            # 3 repeats, N=1,000, about 15 minutes
    .venv/bin/python -m benchmarks.scale --quick    # a smoke test: N=200, 1 repeat

Like `benchmarks.run` it starts a private redis-server and a fresh SQLite database, then:

  fanout   N receivers (WebSocket, one user each) spread round-robin over K public rooms
           (K = 1, 100, 1,000); every message is published to all K rooms, either with one
           `apublish_many` per message or with one `apublish` per room. Each run gets a fresh
           daphne, a flushed Redis and rooms nobody used before; the repeats are interleaved
           and the order inside each K alternates. Measured: the server's CPU per delivery
           (its user + system time during the run over the deliveries), per frame, and its
           ratio to the single stream (K = 1, apublish) of the same repeat, in two ways:
           - against the single stream in a burst (messages as fast as the publisher goes:
             300 deliveries a millisecond, more than the server carries, so it batches 15
             events a frame);
           - against the single stream paced alike: one repeat more of K = 1, its messages
             spaced as the largest K's `apublish_many` messages went out (a message of 1,000
             events takes the publisher tens of ms to store), so both deliver at one rate.
           Goal: K = 1,000 with `apublish_many` at most 3x, at the same delivery rate.
  idle     C connections subscribe (`?stream=...` repeated) to S rooms each (C x S streams,
           10,000 by default): the server's RSS and Redis `used_memory` per subscribed stream,
           beside the same connections subscribed to nothing.

Every receiver checks exactly-once and in-order delivery per stream (by the data and by seq).
It writes `results/<timestamp>-scale.json` and `.md` and prints the Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks import loadtool, servers
from benchmarks.run import (
    RESULTS,
    fmt,
    integrity,
    machine_notes,
    median,
    profile_summary,
    write_results,
)


def redis_used_memory(redis: servers.Redis) -> int:
    import redis as redis_py

    client = redis_py.Redis(port=redis.port)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def run_fanout(
    *,
    streams: int,
    publish: str,
    events: int,
    args: argparse.Namespace,
    env: dict[str, str],
    redis: servers.Redis,
    sessions: list[str],
    log_dir: Path,
    label: str,
    profile_to: Path | None = None,
    interval: float = 0.0,
) -> dict[str, Any]:
    redis.flushall()
    token = uuid.uuid4().hex[:8]
    names = [f"room:s{token}-{index}" for index in range(streams)]
    with servers.Server("daphne", "ours", env, log_dir, label) as server:
        profiler = servers.Profiler(server.pid, profile_to)
        result = loadtool.run_load(
            "burst",
            "ours",
            port=server.port,
            receivers=args.receivers,
            events=events,
            procs=args.procs,
            sessions=sessions,
            server_pid=server.pid,
            redis_pid=redis.pid,
            env=env,
            streams=names,
            publish=publish,
            burst_interval=interval,
            on_go=profiler.start,
            on_done=profiler.stop,
        )
        time.sleep(0.3)
        log = server.log_path.read_text(errors="replace")
    got = result.get("got") or 0
    result.update(
        label=label,
        streams=streams,
        publish=publish,
        paced=interval > 0,
        server_us_per_delivery=1e6 * result["server_cpu_s"] / got if got else None,
        events_per_frame=got / result["frames"] if result.get("frames") else None,
        tracebacks=log.count("Traceback"),
    )
    return result


async def open_readers(port: int, sessions: list[str], streams: list[list[str]]) -> list[Any]:
    """One WebSocket per list of streams (subscribed with `?stream=...`), each with its own
    session: `sessions[i]` reads `streams[i]`. Each keeps reading (and answering the server's
    protocol pings) while nobody awaits its messages: opening hundreds of them can take longer
    than the server's ping timeout."""
    from websockets.asyncio.client import connect

    connections = []
    for session, names in zip(sessions, streams, strict=False):
        query = "&".join(f"stream={name}" for name in names)
        connection = await connect(
            f"ws://127.0.0.1:{port}/ws/live/?{query}",
            additional_headers={
                "Cookie": f"sessionid={session}",
                "Origin": f"http://127.0.0.1:{port}",
            },
            compression=None,
            max_size=None,
            max_queue=None,
            ping_interval=None,
        )
        connections.append(connection)
    return connections


def rooms_by_connection(prefix: str, connections: int, per_connection: int) -> list[list[str]]:
    return [
        [f"room:{prefix}-{index * per_connection + offset}" for offset in range(per_connection)]
        for index in range(connections)
    ]


_PONGS: set[asyncio.Future[None]] = set()


def answer_ping(connection: Any, frame: dict[str, Any]) -> None:
    """The app's pings need a pong (flow control and the heartbeat)."""
    if frame.get("type") == "ping":
        pong = asyncio.ensure_future(
            connection.send(json.dumps({"type": "pong", "id": frame["id"]}))
        )
        _PONGS.add(pong)
        pong.add_done_callback(_PONGS.discard)


async def await_subscribed(connections: list[Any], per_connection: int) -> int:
    async def one(connection: Any) -> int:
        subscribed = 0
        while subscribed < per_connection:
            message = json.loads(await connection.recv())
            for frame in message if isinstance(message, list) else [message]:
                answer_ping(connection, frame)
                if frame.get("type") == "subscribed":
                    subscribed += 1
                elif frame.get("type") == "error":
                    raise RuntimeError(f"subscribe failed: {frame}")
        return subscribed

    return sum(await asyncio.gather(*(one(connection) for connection in connections)))


def run_idle(
    *,
    args: argparse.Namespace,
    env: dict[str, str],
    redis: servers.Redis,
    sessions: list[str],
    log_dir: Path,
    label: str,
) -> dict[str, Any]:
    redis.flushall()
    token = uuid.uuid4().hex[:8]
    count, per = args.idle_connections, args.idle_streams_per_connection
    names = rooms_by_connection(f"i{token}", count, per)
    warm_prefix = f"iwarm{token}"
    create_rooms(
        env,
        [name.split(":", 1)[1] for group in names for name in group]
        + [f"{warm_prefix}-{index}" for index in range(10)],
    )

    async def measure(server: servers.Server) -> dict[str, Any]:
        warm = await open_readers(server.port, sessions[:5], rooms_by_connection(warm_prefix, 5, 2))
        await await_subscribed(warm, 2)
        for connection in warm:
            await connection.close()
        await asyncio.sleep(1.0)
        bare = await open_readers(server.port, sessions[:count], [[] for _ in range(count)])
        await asyncio.sleep(args.idle_wait)
        rss_bare, redis_bare = loadtool.rss_kb(server.pid), redis_used_memory(redis)
        for connection in bare:
            await connection.close()
        await asyncio.sleep(1.0)
        started = time.monotonic()
        connections = await open_readers(server.port, sessions[:count], names)
        subscribed = await await_subscribed(connections, per)
        seconds = time.monotonic() - started
        await asyncio.sleep(args.idle_wait)
        rss, used = loadtool.rss_kb(server.pid), redis_used_memory(redis)
        for connection in connections:
            await connection.close()
        streams = count * per
        return {
            "connections": count,
            "streams": streams,
            "subscribed": subscribed,
            "subscribe_seconds": seconds,
            "rss_bare_kb": rss_bare,
            "rss_subscribed_kb": rss,
            "kb_per_stream": (rss - rss_bare) / streams,
            "redis_bytes_per_stream": (used - redis_bare) / streams,
        }

    with servers.Server("daphne", "ours", env, log_dir, label) as server:
        result = asyncio.run(measure(server))
    result["label"] = label
    return result


def create_rooms(env: dict[str, str], slugs: list[str]) -> None:
    import subprocess

    code = (
        "import django, sys; django.setup()\n"
        "from notifications.chat.models import Room\n"
        "slugs = sys.stdin.read().split()\n"
        "Room.objects.bulk_create([Room(slug=s, name=s) for s in slugs], batch_size=1000)\n"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        input="\n".join(slugs),
        text=True,
        env=env,
        cwd=servers.ROOT,
        check=True,
    )


def analyse(fanout: list[dict[str, Any]], idle: list[dict[str, Any]]) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}

    def baseline(paced: bool) -> dict[int, float]:
        return {
            run["repeat"]: run["server_us_per_delivery"]
            for run in fanout
            if run.get("streams") == 1
            and run.get("publish") == "single"
            and bool(run.get("paced")) is paced
        }

    burst, paced = baseline(False), baseline(True)
    for run in fanout:
        if "error" in run:
            continue
        key = f"K={run['streams']:,} {run['publish']}" + (" paced" if run.get("paced") else "")
        row = rows.setdefault(key, {"runs": [], "ratios": [], "paced_ratios": []})
        row["runs"].append(run)
        cost = run.get("server_us_per_delivery")
        for name, base in (("ratios", burst), ("paced_ratios", paced)):
            if base.get(run["repeat"]) and cost:
                row[name].append(cost / base[run["repeat"]])
    table = {}
    for key, row in rows.items():
        runs = row["runs"]
        table[key] = {
            "runs": len(runs),
            "server_us_per_delivery": median([run["server_us_per_delivery"] for run in runs]),
            "ratio_to_one_stream": median(row["ratios"]),
            "ratios_per_repeat": row["ratios"],
            "ratio_to_one_stream_paced": median(row["paced_ratios"]),
            "paced_ratios_per_repeat": row["paced_ratios"],
            "server_us_per_frame": median(
                [
                    run["server_us_per_delivery"] * run["events_per_frame"]
                    for run in runs
                    if run.get("events_per_frame")
                ]
            ),
            "deliveries_per_s": median([run.get("deliveries_per_s") for run in runs]),
            "send_seconds": median([run.get("send_seconds") for run in runs]),
            "events_per_frame": median([run.get("events_per_frame") for run in runs]),
            "server_cpu_pct": median([run.get("server_cpu_pct") for run in runs]),
            "redis_cpu_pct": median([run.get("redis_cpu_pct") for run in runs]),
            "integrity": {
                name: sum(integrity(run)[name] for run in runs) for name in integrity(runs[0])
            },
        }
    errors = [run["label"] for run in fanout if "error" in run]
    bad = [run["label"] for run in fanout if "error" not in run and any(integrity(run).values())]
    largest = table.get("K=1,000 many", {})
    goal = largest.get("ratio_to_one_stream_paced")
    idle_kb = median([run["kb_per_stream"] for run in idle])
    idle_redis = median([run["redis_bytes_per_stream"] for run in idle])
    return {
        "table": table,
        "idle": {"kb_per_stream": idle_kb, "redis_bytes_per_stream": idle_redis},
        "criteria": {
            "K=1,000 apublish_many <= 3x the single-stream CPU per delivery, "
            "at the same delivery rate": {
                "value": goal,
                "pass": goal is not None and goal <= 3,
            },
            "(context) the same against the single stream in a burst": {
                "value": largest.get("ratio_to_one_stream"),
                "pass": None,
            },
            "nothing lost, duplicated or reordered": {
                "value": len(bad) + len(errors),
                "pass": not bad and not errors,
            },
        },
        "problems": bad,
        "errors": errors,
    }


def markdown(report: dict[str, Any]) -> str:
    notes, config, analysis = report["machine"], report["config"], report["analysis"]
    lines = [
        f"## Scale run {notes['date_utc']}",
        "",
        f"- Machine: {notes['cpu_model']}, {notes['cpus_usable']} usable cores, "
        f"{notes['memory']}; Python {notes['python']}; {notes['redis_server'].split(' sha')[0]}",
        f"- Code: commit {notes['git_commit'][:12]}; run took {report['seconds'] / 60:.1f} min",
        f"- Config: N={config['receivers']} receivers, E={config['events']} messages per run "
        f"(each to all K rooms), {config['repeats']} repeats; idle: "
        f"{config['idle_connections']} connections x {config['idle_streams_per_connection']} "
        "rooms",
        f"- Command: `{report['command']}`",
        "",
        "| criterion | measured (median) | verdict |",
        "| --- | --- | --- |",
    ]
    for name, item in analysis["criteria"].items():
        verdict = {True: "**PASS**", False: "**FAIL**", None: ""}[item["pass"]]
        lines.append(f"| {name} | {fmt(item['value'], 2)} | {verdict} |")
    lines += [
        "",
        "| streams, publishing | server µs / delivery | ratio to K=1 burst (per repeat) "
        "| ratio to K=1 paced alike (per repeat) | server µs / frame "
        "| deliveries/s | send s | events / frame | server CPU % | Redis CPU % "
        "| lost / dup / disorder |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, row in analysis["table"].items():
        bad = row["integrity"]
        ratios = ", ".join(f"{value:.2f}" for value in row["ratios_per_repeat"])
        paced = ", ".join(f"{value:.2f}" for value in row["paced_ratios_per_repeat"])
        lines.append(
            f"| {key} | {fmt(row['server_us_per_delivery'])} "
            f"| {fmt(row['ratio_to_one_stream'], 2)} ({ratios}) "
            f"| {fmt(row['ratio_to_one_stream_paced'], 2)} ({paced}) "
            f"| {fmt(row['server_us_per_frame'])} "
            f"| {fmt(row['deliveries_per_s'])} | {fmt(row['send_seconds'], 2)} "
            f"| {fmt(row['events_per_frame'])} | {fmt(row['server_cpu_pct'])} "
            f"| {fmt(row['redis_cpu_pct'])} "
            f"| {bad['lost']} / {bad['dups']} / {bad['out_of_order'] + bad['seq_errors']} |"
        )
    idle = analysis["idle"]
    lines += [
        "",
        f"Idle subscribed streams: {fmt(idle['kb_per_stream'], 2)} KB of server RSS and "
        f"{fmt(idle['redis_bytes_per_stream'], 0)} bytes of Redis memory per stream "
        "(median), beyond the same connections subscribed to nothing.",
        "",
    ]
    if report.get("profile"):
        lines += ["### Where daphne spends its time (py-spy, largest K, apublish_many)", ""]
        lines += ["```", report["profile"], "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("-n", "--receivers", type=int)
    parser.add_argument("-e", "--events", type=int, help="messages per run (50)")
    parser.add_argument("--streams", default="1,100,1000", help="the values of K")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--idle-connections", type=int)
    parser.add_argument("--idle-streams-per-connection", type=int, default=50)
    parser.add_argument("--idle-wait", type=float, default=3.0)
    parser.add_argument("--only", help="fanout or idle")
    parser.add_argument(
        "--single-up-to",
        type=int,
        default=10**9,
        help="run one apublish per stream only for K up to this (the slow mode; all by default)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the repeats, one extra (uncounted) run of the largest K with apublish_many "
        "under py-spy",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    defaults = (
        {"receivers": 200, "events": 10, "repeats": 1, "idle_connections": 20}
        if args.quick
        else {"receivers": 1000, "events": 50, "repeats": 3, "idle_connections": 200}
    )
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    counts = [int(value) for value in args.streams.split(",")]

    started = time.monotonic()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + "-scale"
    workdir = Path(tempfile.mkdtemp(prefix="notifications-scale-"))
    redis = servers.Redis(workdir)
    fanout: list[dict[str, Any]] = []
    idle: list[dict[str, Any]] = []
    profile: str | None = None
    try:
        env = servers.django_env(workdir / "db.sqlite3", redis.url)
        sessions = servers.prepare_database(env, max(args.receivers, args.idle_connections))
        notes = machine_notes(redis.version)

        def measure(repeat: int, streams: int, publish: str, interval: float = 0.0) -> None:
            label = f"r{repeat}-K{streams}-{publish}" + ("-paced" if interval else "")
            clock = time.monotonic()
            try:
                result = run_fanout(
                    streams=streams,
                    publish=publish,
                    events=args.events,
                    args=args,
                    env=env,
                    redis=redis,
                    sessions=sessions,
                    log_dir=workdir,
                    label=label,
                    interval=interval,
                )
            except Exception as error:
                result = {"label": label, "error": repr(error)}
            result["repeat"] = repeat
            fanout.append(result)
            print(
                f"# {label} ({time.monotonic() - clock:.0f}s): "
                + (
                    result.get("error")
                    or f"{fmt(result['server_us_per_delivery'])} µs/delivery "
                    + loadtool.describe(result)
                ),
                file=sys.stderr,
            )

        for repeat in range(1, args.repeats + 1):
            if args.only in (None, "fanout"):
                for streams in counts:
                    modes = ["many", "single"] if repeat % 2 else ["single", "many"]
                    for publish in modes:
                        if publish != "single" or streams <= args.single_up_to:
                            measure(repeat, streams, publish)
                largest = next(
                    (
                        run
                        for run in fanout
                        if run["repeat"] == repeat
                        and run.get("streams") == max(counts)
                        and run.get("publish") == "many"
                        and run.get("send_seconds")
                    ),
                    None,
                )
                if largest is not None and max(counts) > 1:
                    measure(repeat, 1, "single", largest["send_seconds"] / (args.events - 1))
            if args.only in (None, "idle"):
                label = f"r{repeat}-idle"
                result = run_idle(
                    args=args, env=env, redis=redis, sessions=sessions, log_dir=workdir, label=label
                )
                result["repeat"] = repeat
                idle.append(result)
                print(f"# {label}: {result}", file=sys.stderr)
        if args.profile and args.only in (None, "fanout"):
            profile_path = args.out / f"{stamp}-profile-K{max(counts)}-many.txt"
            args.out.mkdir(parents=True, exist_ok=True)
            run_fanout(
                streams=max(counts),
                publish="many",
                events=args.events,
                args=args,
                env=env,
                redis=redis,
                sessions=sessions,
                log_dir=workdir,
                label="profile",
                profile_to=profile_path,
            )
            profile = profile_summary(profile_path)
            print(profile, file=sys.stderr)
    finally:
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "machine": notes,
        "config": {
            key: getattr(args, key)
            for key in (
                "receivers",
                "events",
                "streams",
                "repeats",
                "procs",
                "idle_connections",
                "idle_streams_per_connection",
                "quick",
            )
        },
        "command": " ".join([".venv/bin/python -m benchmarks.scale", *sys.argv[1:]]),
        "fanout": fanout,
        "idle": idle,
        "analysis": analyse(fanout, idle),
        "profile": profile,
        "seconds": time.monotonic() - started,
    }
    write_results(args.out, stamp, report, markdown(report))


if __name__ == "__main__":
    main()
