"""What a running task reports: progress (stored at a bounded rate, latest wins), output
(batched, never dropped), and whether someone asked it to stop. Reporting never waits for the
database: a thread per run stores batches and beats the run's heart."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connections

from notifications.api import validate_data
from notifications.conf import app_settings
from notifications.tasks import lifecycle

__all__ = [
    "Cancelled",
    "RunReporter",
    "check_cancelled",
    "current_run",
    "log",
    "progress",
    "write",
]

logger = logging.getLogger("notifications")

OUTPUT_EVENT_CHARS = 16_384
RETRY_DELAY = 0.5


class Cancelled(Exception):
    """Raised in a task at its next report or check once someone asked its run to stop."""


class RunReporter:
    """The reporting side of one run. Outside a run (a task called directly, a test), every
    report is accepted and forgotten."""

    def __init__(self, run_id: str | None = None) -> None:
        self.run_id = run_id
        self._lock = threading.Condition()
        self._progress: lifecycle.Progress | None = None
        self._output: list[str] = []
        self._output_size = 0
        self._output_since = 0.0
        self._progress_stored = -math.inf
        self._recorded = time.monotonic()
        self._cancel = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise `Cancelled` if someone asked this run to stop."""
        if self._cancel.is_set():
            raise Cancelled(self.run_id)

    def progress(
        self, current: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Report `current` of `total` (or a fraction with `total=1`), with an optional message
        (None keeps the last one). Only the latest report is kept until it is stored."""
        self.check_cancelled()
        if not _finite(current) or (total is not None and (not _finite(total) or total <= 0)):
            raise ValueError("Progress needs a finite current value and a positive total.")
        if message is not None:
            validate_data(str(message))
        update = lifecycle.Progress(float(current), _float(total), _text(message))
        if self.run_id is None:
            return
        with self._lock:
            first = self._progress is None
            self._progress = update
            if first:
                self._lock.notify()

    def write(self, text: str) -> None:
        """Append `text` to the run's output: chunks arrive in order, each exactly once."""
        self.check_cancelled()
        if not isinstance(text, str):
            raise TypeError(f"Output is text, not {type(text).__name__}.")
        if not text or self.run_id is None:
            return
        validate_data(text)
        with self._lock:
            first = not self._output
            if first:
                self._output_since = time.monotonic()
            self._output.append(text)
            self._output_size += len(text)
            if first or self._output_size >= app_settings.TASK_OUTPUT_BYTES:
                self._lock.notify()

    def log(self, line: str) -> None:
        """Write one line of output."""
        self.write(str(line).rstrip("\n") + "\n")

    def start(self) -> None:
        if self.run_id is None or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._store_batches, name=f"task-run-{self.run_id}", daemon=True
        )
        self._thread.start()

    def drain(self) -> tuple[lifecycle.Progress | None, list[str]]:
        """Stop storing in the background; what is still pending, for the final record."""
        thread = self._thread
        with self._lock:
            self._stopping = True
            self._lock.notify()
        if thread is not None:
            thread.join()
        with self._lock:
            return self._take(progress=True, output=True)

    def _store_batches(self) -> None:
        try:
            while True:
                with self._lock:
                    while not self._stopping and (wait := self._next_due() - time.monotonic()) > 0:
                        self._lock.wait(wait)
                    if self._stopping:
                        return
                    now = time.monotonic()
                    progress, texts = self._take(
                        progress=now - self._progress_stored >= 1 / app_settings.TASK_PROGRESS_RATE,
                        output=self._output_due(now),
                    )
                self._store(progress, texts)
        finally:
            connections.close_all()

    def _next_due(self) -> float:
        due = self._recorded + app_settings.TASK_HEARTBEAT_INTERVAL
        if self._progress is not None:
            due = min(due, self._progress_stored + 1 / app_settings.TASK_PROGRESS_RATE)
        if self._output:
            if self._output_size >= app_settings.TASK_OUTPUT_BYTES:
                return time.monotonic()
            due = min(due, self._output_since + app_settings.TASK_OUTPUT_INTERVAL)
        return due

    def _output_due(self, now: float) -> bool:
        return bool(self._output) and (
            self._output_size >= app_settings.TASK_OUTPUT_BYTES
            or now - self._output_since >= app_settings.TASK_OUTPUT_INTERVAL
        )

    def _take(self, *, progress: bool, output: bool) -> tuple[lifecycle.Progress | None, list[str]]:
        taken = self._progress if progress else None
        if taken is not None:
            self._progress = None
            self._progress_stored = time.monotonic()
        texts: list[str] = []
        if output and self._output:
            joined = "".join(self._output)
            texts = [
                joined[start : start + OUTPUT_EVENT_CHARS]
                for start in range(0, len(joined), OUTPUT_EVENT_CHARS)
            ]
            self._output, self._output_size = [], 0
        return taken, texts

    def _store(self, progress: lifecycle.Progress | None, texts: list[str]) -> None:
        assert self.run_id is not None
        try:
            recorded = lifecycle.record(self.run_id, progress, texts)
        except Exception:
            logger.warning("Could not store task run %s's report; retrying.", self.run_id)
            with self._lock:
                if progress is not None and self._progress is None:
                    self._progress = progress
                if texts:
                    self._output_since = time.monotonic()
                self._output[:0] = texts
                self._output_size += sum(len(text) for text in texts)
                self._lock.wait(RETRY_DELAY)
            return
        self._recorded = time.monotonic()
        if recorded.cancel_requested or not recorded.running:
            self._cancel.set()


_current: ContextVar[RunReporter | None] = ContextVar("notifications_task_run", default=None)
_detached = RunReporter()


@contextmanager
def reporting_for(reporter: RunReporter) -> Iterator[RunReporter]:
    """Make `reporter` the current run's while the task runs."""
    token = _current.set(reporter)
    try:
        yield reporter
    finally:
        _current.reset(token)


def current_run() -> RunReporter:
    """The run the calling task is executing (a reporter that records nothing outside one)."""
    return _current.get() or _detached


def progress(current: float, total: float | None = None, message: str | None = None) -> None:
    """Report the current run's progress (see `RunReporter.progress`)."""
    current_run().progress(current, total, message)


def write(text: str) -> None:
    """Append to the current run's output."""
    current_run().write(text)


def log(line: str) -> None:
    """Write one line to the current run's output."""
    current_run().log(line)


def check_cancelled() -> None:
    """Raise `Cancelled` if someone asked the current run to stop."""
    current_run().check_cancelled()


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
