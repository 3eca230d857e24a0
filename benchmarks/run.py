"""One command for the whole comparison, side by side in one run.

    .venv/bin/python -m benchmarks.run            # the full run: N=1,000, 3 repeats (~10 min)
    .venv/bin/python -m benchmarks.run --quick    # a smoke test: N=200, 1 repeat (~1 min)

It starts a private redis-server (free port, no persistence), makes a fresh SQLite database
in a temporary directory (`manage.py migrate`, a logged-in user and session per receiver), then
runs every
scenario `--repeats` times, interleaved (repeat 1 of each scenario, then repeat 2, ...; the
order inside each pair alternates between repeats). Every scenario gets a fresh server process
(one process, not pinned) and a flushed Redis. The scenarios and the criteria they feed:

  burst        ours on daphne  vs  the tutorial consumer on daphne   (ratio >= 6)
  burst        ours on uvicorn vs  the raw websockets server batching per loop pass
               (ratio >= 0.5; at E=300 and, for context, at E=10), and the unbatched raw
               server for context; the raw sender writes each event as our app frames it,
               so the receivers of both read the same frames (for context, also against
               the raw server batching bare data: 3-field objects, no envelope)
  light        ours on daphne: p99 latency at one event every 2 s    (<= 150 ms)
               (and the tutorial on daphne, for context)
  idle-memory  ours vs tutorial on daphne, KB per connection at 2,000 sockets (ours <= tutorial)
  sse          ours on daphne, 1,000 streams: KB per stream (<= 40) and exactly-once
  every run    nothing lost, duplicated or reordered

It writes benchmarks/results/<timestamp>.json (machine notes, every run's numbers, medians,
ratios, verdicts) and <timestamp>.md, and prints the Markdown summary.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks import loadtool, servers

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = [
    "Django",
    "channels",
    "channels-redis",
    "daphne",
    "Twisted",
    "autobahn",
    "redis",
    "uvicorn",
    "websockets",
    "asgiref",
    "py-spy",
]


# --------------------------------------------------------------------------------------------
# machine notes


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.rstrip("\n")
    except Exception:
        return "unknown"


def machine_notes(redis_version: str) -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    import resource

    dirty = [line[3:] for line in _git("status", "--porcelain").splitlines() if line]
    return {
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "memory": _memory_total(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": versions,
        "redis_server": redis_version,
        "open_files_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": [path for path in dirty if not path.startswith("benchmarks/")],
        "load_average_start": os.getloadavg(),
    }


# --------------------------------------------------------------------------------------------
# scenarios


class Scenario:
    def __init__(
        self, name: str, mode: str, app: str, server: str, receivers: int, events: int
    ) -> None:
        self.name = name
        self.mode = mode
        self.app = app
        self.server = server
        self.receivers = receivers
        self.events = events


def build_scenarios(args: argparse.Namespace) -> list[list[Scenario]]:
    """Groups of scenarios compared side by side (each group's order alternates per repeat)."""
    n, e = args.receivers, args.events
    groups = [
        [
            Scenario("burst ours daphne", "burst", "ours", "daphne", n, e),
            Scenario("burst tutorial daphne", "burst", "tutorial", "daphne", n, e),
        ],
        [
            Scenario("burst ours uvicorn", "burst", "ours", "uvicorn", n, args.fast_events),
            Scenario("burst raw batched", "burst", "raw", "raw-batch", n, args.fast_events),
            Scenario("burst raw websockets", "burst", "raw", "raw", n, args.fast_events),
            Scenario(
                "burst raw batched bare", "burst", "raw-bare", "raw-batch", n, args.fast_events
            ),
        ],
        [
            Scenario("small ours uvicorn", "burst", "ours", "uvicorn", n, args.small_events),
            Scenario("small raw batched", "burst", "raw", "raw-batch", n, args.small_events),
        ],
        [Scenario("light ours daphne", "light", "ours", "daphne", n, args.light_events)],
        [
            Scenario("idle ours daphne", "idle-memory", "ours", "daphne", args.idle_sockets, 0),
            Scenario(
                "idle tutorial daphne", "idle-memory", "tutorial", "daphne", args.idle_sockets, 0
            ),
        ],
        [Scenario("sse ours daphne", "sse", "ours", "daphne", args.sse_streams, args.sse_events)],
    ]
    if args.light_baseline:
        groups[2].append(
            Scenario("light tutorial daphne", "light", "tutorial", "daphne", n, args.light_events)
        )
    if args.only:
        wanted = set(args.only.split(","))
        groups = [[s for s in group if s.mode in wanted] for group in groups]
        groups = [group for group in groups if group]
    return groups


def server_problems(log: str) -> dict[str, int]:
    """Lines in the server's log that point at trouble (access-log lines excluded)."""
    problems: Counter[str] = Counter()
    for line in log.splitlines():
        if "Traceback" in line:
            problems["Traceback"] += 1
        elif " ERROR " in line or line.startswith("ERROR"):
            problems["ERROR"] += 1
        elif "WARNING" in line or "Warning" in line:
            problems["warning"] += 1
    return dict(problems)


def run_scenario(
    scenario: Scenario,
    *,
    args: argparse.Namespace,
    env: dict[str, str],
    redis: servers.Redis,
    sessions: list[str],
    log_dir: Path,
    label: str,
    profile_to: Path | None = None,
) -> dict[str, Any]:
    redis.flushall()
    load_before = os.getloadavg()[0]
    extra = ["--ws", args.uvicorn_ws] if scenario.server == "uvicorn" else []
    kind = "daphne-gclog" if args.gc_log and scenario.server == "daphne" else scenario.server
    with servers.Server(kind, scenario.app, env, log_dir, label, extra) as server:
        profiler = servers.Profiler(server.pid, profile_to)
        result = loadtool.run_load(
            scenario.mode,
            scenario.app,
            port=server.port,
            receivers=scenario.receivers,
            events=scenario.events if profile_to is None else args.profile_events,
            interval=args.interval,
            procs=args.procs,
            sessions=None if scenario.app.startswith("raw") else sessions,
            server_pid=server.pid,
            redis_pid=redis.pid,
            env=env,
            idle_wait=args.idle_wait,
            on_go=profiler.start,
            on_done=profiler.stop,
        )
        time.sleep(0.5)
        log = server.log_path.read_text(errors="replace")
    if args.gc_log and result.get("first_send"):
        pauses = []
        for line in log.splitlines():
            if line.startswith("GC-PAUSE "):
                _, stamp, generation, took = line.split()
                pauses.append([round(float(stamp) - result["first_send"], 2), generation, took])
        result["gc_pauses"] = pauses  # [seconds after the first send, generation, duration]
    result.update(
        scenario=scenario.name,
        server=scenario.server,
        server_command=" ".join(
            Path(part).name if "/" in part else part for part in server.command
        ),
        server_problems=server_problems(log),
        load_average_before=load_before,
        label=label,
    )
    return result


# --------------------------------------------------------------------------------------------
# summary


def write_results(out_dir: Path, stamp: str, report: dict[str, Any], summary: str) -> None:
    """Write a run's `<stamp>.json` (the whole report) and `<stamp>.md` (its summary) into
    `out_dir`, and print the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stamp}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out_dir / f"{stamp}.md").write_text(summary)
    print(summary)
    print(f"Wrote {out_dir / (stamp + '.json')} and .md", file=sys.stderr)


def median(values: list[float | None] | list[float]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


METRICS = [
    "deliveries_per_s",
    "latency_p50_ms",
    "latency_p99_ms",
    "kb_per_connection",
    "kb_per_stream",
    "server_cpu_pct",
    "receiver_cpu_pct",
    "events_per_frame",
]


def integrity(result: dict[str, Any]) -> dict[str, int]:
    return {
        "lost": int(result.get("lost", 0)),
        "dups": int(result.get("dups", 0)),
        "out_of_order": int(result.get("out_of_order", 0)),
        "seq_errors": int(result.get("seq_errors", 0))
        + int(result.get("seq_offset_mismatches", 0)),
        "connect_failures": sum(
            connect["sockets"] - connect["connected"] for connect in result.get("connect", [])
        ),
    }


def analyse(runs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        if run.get("repeat") is not None:
            by_scenario.setdefault(run["scenario"], []).append(run)
    medians: dict[str, dict[str, Any]] = {}
    for name, items in by_scenario.items():
        medians[name] = {
            metric: median([item.get(metric) for item in items])
            for metric in METRICS
            if any(item.get(metric) is not None for item in items)
        }
        medians[name]["runs"] = len(items)
        medians[name]["integrity"] = dict(
            sum((Counter(integrity(item)) for item in items), Counter[str]())
        )

    def paired(numerator: str, denominator: str, metric: str) -> dict[str, Any] | None:
        tops = {run["repeat"]: run.get(metric) for run in by_scenario.get(numerator, [])}
        bottoms = {run["repeat"]: run.get(metric) for run in by_scenario.get(denominator, [])}
        ratios = [
            tops[r] / bottoms[r]
            for r in sorted(tops)
            if tops[r] and bottoms.get(r) and r in bottoms
        ]
        if not ratios:
            return None
        top = medians[numerator].get(metric)
        bottom = medians[denominator].get(metric)
        return {
            "per_repeat": ratios,
            "median_of_ratios": statistics.median(ratios),
            "ratio_of_medians": top / bottom if top and bottom else None,
        }

    ratios = {
        "burst ours daphne / tutorial daphne": paired(
            "burst ours daphne", "burst tutorial daphne", "deliveries_per_s"
        ),
        "burst ours uvicorn / raw batched": paired(
            "burst ours uvicorn", "burst raw batched", "deliveries_per_s"
        ),
        "small burst ours uvicorn / raw batched": paired(
            "small ours uvicorn", "small raw batched", "deliveries_per_s"
        ),
        "burst ours uvicorn / raw websockets (unbatched)": paired(
            "burst ours uvicorn", "burst raw websockets", "deliveries_per_s"
        ),
        "burst ours uvicorn / raw batched sending bare data": paired(
            "burst ours uvicorn", "burst raw batched bare", "deliveries_per_s"
        ),
        "idle KB/conn ours / tutorial": paired(
            "idle ours daphne", "idle tutorial daphne", "kb_per_connection"
        ),
    }

    def verdict(value: float | None, ok: bool | None) -> dict[str, Any]:
        return {"value": value, "pass": ok}

    criteria: dict[str, Any] = {}
    burst = ratios["burst ours daphne / tutorial daphne"]
    if burst:
        value = burst["median_of_ratios"]
        criteria["daphne burst deliveries/s >= 6x tutorial"] = verdict(value, value >= 6)
    light = medians.get("light ours daphne", {}).get("latency_p99_ms")
    if light is not None:
        criteria["daphne light-load p99 <= 150 ms"] = verdict(light, light <= 150)
    fast = ratios["burst ours uvicorn / raw batched"]
    if fast:
        value = fast["median_of_ratios"]
        criteria["uvicorn burst deliveries/s >= 0.5x the batching raw server"] = verdict(
            value, value >= 0.5
        )
    idle_ours = medians.get("idle ours daphne", {}).get("kb_per_connection")
    idle_tutorial = medians.get("idle tutorial daphne", {}).get("kb_per_connection")
    if idle_ours is not None and idle_tutorial is not None:
        criteria[f"idle KB/connection ours <= tutorial ({args.idle_sockets:,} sockets)"] = verdict(
            idle_ours, idle_ours <= idle_tutorial
        )
    ours_runs = [run for run in runs if run.get("target") in ("ours", "sse")]
    bad = [run["label"] for run in ours_runs if any(integrity(run).values())]
    criteria["nothing lost in any run (our app)"] = verdict(len(bad), not bad)
    baseline_bad = [
        run["label"]
        for run in runs
        if run.get("target") in ("tutorial", "raw", "raw-bare") and any(integrity(run).values())
    ]
    sse = [run for run in runs if run.get("mode") == "sse" and run.get("repeat") is not None]
    if sse:
        kb = median([run["kb_per_stream"] for run in sse])
        once = all(not any(integrity(run).values()) for run in sse)
        criteria[f"SSE {args.sse_streams:,} streams <= 40 KB each"] = verdict(
            kb, kb is not None and kb <= 40
        )
        criteria["SSE every event exactly once"] = verdict(
            sum(run["lost"] + run["dups"] for run in sse), once
        )
    return {
        "medians": medians,
        "ratios": ratios,
        "criteria": criteria,
        "integrity_problems_ours": bad,
        "integrity_problems_baselines": baseline_bad,
    }


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def markdown(report: dict[str, Any]) -> str:
    notes = report["machine"]
    config = report["config"]
    analysis = report["analysis"]
    lines = [
        f"## Benchmark run {notes['date_utc']}",
        "",
        f"- Machine: {notes['cpu_model']}, {notes['cpus']} cores ({notes['cpus_usable']} usable), "
        f"{notes['memory']}, Linux {notes['kernel']}, `ulimit -n` {notes['open_files_limit']}",
        f"- Python {notes['python']}; "
        + ", ".join(f"{name} {version}" for name, version in notes["packages"].items() if version)
        + f"; {notes['redis_server'].split(' sha')[0]}",
        f"- Code: commit {notes['git_commit'][:12]}"
        + (
            f", uncommitted changes in {', '.join(notes['git_dirty'])}"
            if notes["git_dirty"]
            else ""
        ),
        f"- Load average at start / end: {notes['load_average_start'][0]:.2f} / "
        f"{report['load_average_end'][0]:.2f}; run took {report['seconds'] / 60:.1f} min",
        f"- Config: N={config['receivers']} receivers, burst E={config['events']} "
        f"(uvicorn/raw pair E={config['fast_events']} and "
        f"{config.get('small_events', '-')}), light {config['light_events']} events "
        f"every {config['interval']} s, idle {config['idle_sockets']} sockets, "
        f"SSE {config['sse_streams']} streams x {config['sse_events']} events, "
        f"{config['repeats']} repeats, {config['procs']} receiver processes, "
        f"uvicorn --ws {config['uvicorn_ws']}",
        f"- Command: `{report['command']}`",
        "",
        "### Criteria",
        "",
        *(
            [
                "Quick mode is a smoke test: the criteria are defined at N=1,000 (2,000 idle "
                "sockets, 1,000 SSE streams); these verdicts are indicative only.",
                "",
            ]
            if config["quick"]
            else []
        ),
        "| criterion | measured (median) | verdict |",
        "| --- | --- | --- |",
    ]
    for name, item in analysis["criteria"].items():
        verdict = "PASS" if item["pass"] else "FAIL"
        lines.append(f"| {name} | {fmt(item['value'], 2)} | **{verdict}** |")
    lines += ["", "### Ratios (paired per repeat)", ""]
    lines += [
        "| ratio | per repeat | median of ratios | ratio of medians |",
        "| --- | --- | --- | --- |",
    ]
    for name, item in analysis["ratios"].items():
        if item:
            per = ", ".join(f"{value:.2f}" for value in item["per_repeat"])
            lines.append(
                f"| {name} | {per} | {fmt(item['median_of_ratios'], 2)} "
                f"| {fmt(item['ratio_of_medians'], 2)} |"
            )
    lines += [
        "",
        "### Medians per scenario",
        "",
        "| scenario | runs | deliveries/s | p50 ms | p99 ms | KB/conn | KB/stream | events/frame "
        "| server CPU % | receivers CPU % | lost/dup/reordered |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, item in analysis["medians"].items():
        check = item["integrity"]
        lines.append(
            f"| {name} | {item['runs']} | {fmt(item.get('deliveries_per_s'))} "
            f"| {fmt(item.get('latency_p50_ms'))} | {fmt(item.get('latency_p99_ms'))} "
            f"| {fmt(item.get('kb_per_connection'))} | {fmt(item.get('kb_per_stream'))} "
            f"| {fmt(item.get('events_per_frame'), 2)} "
            f"| {fmt(item.get('server_cpu_pct'), 0)} | {fmt(item.get('receiver_cpu_pct'), 0)} "
            f"| {check.get('lost', 0)}/{check.get('dups', 0)}/"
            f"{check.get('out_of_order', 0) + check.get('seq_errors', 0)} |"
        )
    lines += [
        "",
        "### Every run",
        "",
        "| # | scenario | deliveries/s | p50 ms | p99 ms | KB/conn or stream | lost | dups "
        "| reordered | reconnects | closes | server log |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in report["runs"]:
        memory = run.get("kb_per_connection", run.get("kb_per_stream"))
        number = run["repeat"] if run.get("repeat") is not None else "profile"
        lines.append(
            f"| {number} | {run['scenario']} "
            f"| {fmt(run.get('deliveries_per_s'))} | {fmt(run.get('latency_p50_ms'))} "
            f"| {fmt(run.get('latency_p99_ms'))} | {fmt(memory)} | {run.get('lost', 0)} "
            f"| {run.get('dups', 0)} | {run.get('out_of_order', 0) + run.get('seq_errors', 0)} "
            f"| {run.get('reconnects', 0)} | {run.get('closes') or ''} "
            f"| {run.get('server_problems') or ''} |"
        )
    light = [run for run in report["runs"] if run.get("mode") == "light"]
    if light:
        lines += [
            "",
            "### Light load: mean latency of each event over all receivers (ms)",
            "",
            "A slow event that every receiver sees late is a stall before or during the fan-out "
            "(e.g. a garbage-collector pass), not one slow socket.",
            "",
        ]
        for run in light:
            means = run.get("event_latency_mean_ms") or []
            lines.append(f"- r{run['repeat']} {run['scenario']}: {', '.join(map(str, means))}")
            if run.get("gc_pauses"):
                pauses = ", ".join(
                    f"{at:+.1f}s {generation} {took}" for at, generation, took in run["gc_pauses"]
                )
                lines.append(f"  - GC pauses >= 5 ms (seconds after the first send): {pauses}")
    if report.get("profile"):
        server = report["config"].get("profile_server", "daphne")
        lines += ["", f"### Where the {server} server spends its time (py-spy, burst)", ""]
        lines += ["```", report["profile"], "```"]
    return "\n".join(lines) + "\n"


def profile_summary(path: Path, top: int = 25) -> str:
    """Inclusive and own time of the hottest frames in py-spy's collapsed-stack output."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return "(no profile was written)"
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    if not total:
        return "(empty profile)"
    out = [f"{total} samples; own time:"]
    out += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    out += ["", "inclusive time:"]
    out += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top + 15)]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: N=200, 1 repeat")
    parser.add_argument("-n", "--receivers", type=int, help="receivers per stream (1000)")
    parser.add_argument("-e", "--events", type=int, help="burst events, ours vs tutorial (100)")
    parser.add_argument("--fast-events", type=int, help="burst events, uvicorn vs raw (300)")
    parser.add_argument(
        "--small-events", type=int, help="a small burst, uvicorn vs the batching raw server (10)"
    )
    parser.add_argument("--light-events", type=int, help="light-load events (15)")
    parser.add_argument("--interval", type=float, default=2.0, help="light: seconds per event")
    parser.add_argument("--idle-sockets", type=int, help="idle-memory sockets (2000)")
    parser.add_argument("--sse-streams", type=int, help="SSE streams (1000)")
    parser.add_argument("--sse-events", type=int, help="SSE events (100)")
    parser.add_argument("--repeats", type=int, help="runs of each scenario (3)")
    parser.add_argument("--procs", type=int, default=2, help="receiver processes (2)")
    parser.add_argument("--idle-wait", type=float, default=5.0)
    parser.add_argument(
        "--no-light-baseline",
        dest="light_baseline",
        action="store_false",
        help="skip the tutorial's light-load run (context only, not a criterion)",
    )
    parser.add_argument("--only", help="comma-separated modes to run: burst,light,idle-memory,sse")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the repeats, one extra (uncounted) ours-on-daphne burst under py-spy",
    )
    parser.add_argument(
        "--profile-server",
        choices=["daphne", "uvicorn"],
        default="daphne",
        help="the server of the profile run",
    )
    parser.add_argument(
        "--profile-events", type=int, help="burst events of the profile run (3 x --events)"
    )
    parser.add_argument(
        "--uvicorn-ws",
        default="websockets",
        choices=["websockets", "websockets-sansio", "wsproto"],
        help="uvicorn's --ws implementation (websockets, as the issue states)",
    )
    parser.add_argument(
        "--gc-log",
        action="store_true",
        help="diagnostics: serve daphne through benchmarks.gcdiag and report GC pauses",
    )
    parser.add_argument(
        "--layer",
        choices=["core", "pubsub"],
        default="core",
        help="channels-redis layer: RedisChannelLayer (core) or RedisPubSubChannelLayer",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (DB, logs)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    defaults = (
        {"receivers": 200, "events": 20, "fast_events": 50, "small_events": 5, "light_events": 4}
        | {"idle_sockets": 400, "sse_streams": 200, "sse_events": 20, "repeats": 1}
        if args.quick
        else {"receivers": 1000, "events": 100, "fast_events": 300, "small_events": 10}
        | {"light_events": 15}
        | {"idle_sockets": 2000, "sse_streams": 1000, "sse_events": 100, "repeats": 3}
    )
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.profile_events is None:
        args.profile_events = 3 * args.events

    started = time.monotonic()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ("-quick" if args.quick else "")
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="notifications-bench-"))
    redis = servers.Redis(workdir)
    runs: list[dict[str, Any]] = []
    profile_text = None
    try:
        env = servers.django_env(workdir / "db.sqlite3", redis.url)
        if args.layer == "pubsub":
            env["REDIS_LAYER"] = "pubsub"
        sessions = servers.prepare_database(
            env, max(args.receivers, args.idle_sockets, args.sse_streams)
        )
        notes = machine_notes(redis.version)
        groups = build_scenarios(args)
        total = sum(len(group) for group in groups) * args.repeats
        print(f"# {total} runs; DB and server logs in {workdir}", file=sys.stderr)
        for repeat in range(1, args.repeats + 1):
            for group in groups:
                ordered = group if repeat % 2 else list(reversed(group))
                for scenario in ordered:
                    label = f"r{repeat}-{scenario.name.replace(' ', '-')}"
                    clock = time.monotonic()
                    try:
                        result = run_scenario(
                            scenario,
                            args=args,
                            env=env,
                            redis=redis,
                            sessions=sessions,
                            log_dir=workdir,
                            label=label,
                        )
                    except Exception as error:
                        result = {
                            "scenario": scenario.name,
                            "mode": scenario.mode,
                            "target": scenario.app,
                            "label": label,
                            "error": repr(error),
                            "lost": scenario.receivers * scenario.events,
                        }
                    result["repeat"] = repeat
                    if result.get("frames"):
                        result["events_per_frame"] = result["got"] / result["frames"]
                    runs.append(result)
                    print(
                        f"# [{len(runs)}/{total}] {label} ({time.monotonic() - clock:.0f}s): "
                        + (result.get("error") or loadtool.describe(result)),
                        file=sys.stderr,
                    )
        if args.profile and not Path(servers.PY_SPY).exists():
            print("# --profile: py-spy is not installed; skipping the profile run", file=sys.stderr)
        elif args.profile:
            profile_path = args.out / f"{stamp}-profile-ours-{args.profile_server}.txt"
            result = run_scenario(
                groups[0][0] if args.profile_server == "daphne" else groups[1][0],
                args=args,
                env=env,
                redis=redis,
                sessions=sessions,
                log_dir=workdir,
                label=f"profile-burst-ours-{args.profile_server}",
                profile_to=profile_path,
            )
            result["repeat"] = None
            runs.append(result)
            profile_text = profile_summary(profile_path)
            print("# profile run: " + loadtool.describe(result), file=sys.stderr)
    finally:
        redis.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    freeze = "BENCH_GC_FREEZE" in os.environ
    report = {
        "machine": notes,
        "config": {
            key: getattr(args, key)
            for key in (
                "receivers",
                "events",
                "fast_events",
                "small_events",
                "light_events",
                "interval",
                "idle_sockets",
                "sse_streams",
                "sse_events",
                "repeats",
                "procs",
                "idle_wait",
                "quick",
                "uvicorn_ws",
                "layer",
                "profile_events",
                "profile_server",
                "gc_log",
            )
        },
        "command": " ".join(
            ([f"BENCH_GC_FREEZE={os.environ['BENCH_GC_FREEZE']}"] if freeze else [])
            + [".venv/bin/python -m benchmarks.run", *sys.argv[1:]]
        ),
        "runs": runs,
        "analysis": analyse(runs, args),
        "profile": profile_text,
        "load_average_end": os.getloadavg(),
        "seconds": time.monotonic() - started,
        "workdir": str(workdir) if args.keep else None,
    }
    write_results(args.out, stamp, report, markdown(report))


if __name__ == "__main__":
    main()
