"""Diagnostics only: run daphne with a `gc.callbacks` hook that logs every garbage-collector
pass longer than 5 ms to stderr, as `GC-PAUSE <unix time> gen=<n> <ms>ms`.

    python -m benchmarks.gcdiag -b 127.0.0.1 -p 8000 project.asgi:application

`BENCH_GC_FREEZE=1` also imports the ASGI application first and then calls `gc.freeze()`, so the
startup heap (Django, the app, their modules) is left out of every later collection: a cheap way
to see what such a call in asgi.py would do to the pauses.
`benchmarks.run --gc-log` serves the daphne scenarios through this wrapper and puts the pauses it
logged into the results; the default runs use plain daphne.
"""

from __future__ import annotations

import gc
import importlib
import os
import runpy
import sys
import time
from typing import Any

_started: list[float] = [0.0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    took = time.perf_counter() - _started[0]
    if took >= 0.005:
        sys.stderr.write(
            f"GC-PAUSE {time.time():.3f} gen={info['generation']} {took * 1000:.1f}ms\n"
        )
        sys.stderr.flush()


def _freeze_after_import(application: str) -> None:
    module, _, attribute = application.partition(":")
    getattr(importlib.import_module(module), attribute)
    gc.collect()
    gc.freeze()
    sys.stderr.write(f"GC-FREEZE {time.time():.3f} frozen={gc.get_freeze_count()}\n")
    sys.stderr.flush()


def main() -> None:
    gc.callbacks.append(_on_gc)
    if os.environ.get("BENCH_GC_FREEZE") == "1":
        sys.path.insert(0, os.getcwd())
        _freeze_after_import(sys.argv[-1])
    sys.argv = ["daphne", *sys.argv[1:]]
    runpy.run_module("daphne", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
