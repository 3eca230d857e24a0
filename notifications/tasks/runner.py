"""`@task`: Django's task decorator, with a run's reporting around the function."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from collections.abc import Callable
from inspect import iscoroutinefunction
from typing import TYPE_CHECKING, Any, TypeVar, overload

from asgiref.sync import sync_to_async
from django.core.serializers.json import DjangoJSONEncoder

from notifications.conf import app_settings
from notifications.tasks import lifecycle
from notifications.tasks.models import TaskRun
from notifications.tasks.reporting import Cancelled, RunReporter, reporting_for

if TYPE_CHECKING:
    from notifications.tasks import compat

__all__ = ["RUN_KWARG", "is_live_task", "task"]

logger = logging.getLogger("notifications")

RUN_KWARG = "notifications_run"
F = TypeVar("F", bound=Callable[..., Any])
Status = TaskRun.Status


@overload
def task(function: Callable[..., Any], /) -> compat.Task[..., Any]: ...
@overload
def task(
    *,
    priority: int = ...,
    queue_name: str = ...,
    backend: str = ...,
    takes_context: bool = ...,
    **options: Any,
) -> Callable[[Callable[..., Any]], compat.Task[..., Any]]: ...
def task(
    function: Callable[..., Any] | None = None,
    *,
    priority: int = 0,
    queue_name: str = "default",
    backend: str = "default",
    takes_context: bool = False,
    **options: Any,
) -> Any:
    """Django's `@task` (same arguments), whose runs report progress and output live and can
    be cancelled. Start one with `notifications.tasks.start(...)`; a plain `.enqueue()` works
    too (the run then has no owner)."""

    from notifications.tasks import compat

    def decorate(func: Callable[..., Any]) -> compat.Task[..., Any]:
        make: Any = compat.task
        made: compat.Task[..., Any] = make(
            priority=priority,
            queue_name=queue_name,
            backend=backend,
            takes_context=True,
            **options,
        )(_runner_for(func, takes_context))
        return made

    return decorate(function) if function is not None else decorate


def is_live_task(candidate: object) -> bool:
    """Whether `candidate` is a task made with `notifications.tasks.task`."""
    from notifications.tasks import compat

    func = getattr(candidate, "func", None)
    return isinstance(candidate, compat.Task) and hasattr(func, "live_function")


def _runner_for(func: Callable[..., Any], takes_context: bool) -> Callable[..., Any]:
    runner: Callable[..., Any]
    if iscoroutinefunction(func):

        async def runner(context: Any, *args: Any, **kwargs: Any) -> Any:
            run_id = kwargs.pop(RUN_KWARG, None)
            return await _arun(func, takes_context, context, run_id, args, kwargs)

    else:

        def runner(context: Any, *args: Any, **kwargs: Any) -> Any:
            run_id = kwargs.pop(RUN_KWARG, None)
            return _run(func, takes_context, context, run_id, args, kwargs)

    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(runner, name, getattr(func, name, None))
    setattr(runner, "live_function", func)  # noqa: B010
    return runner


def _run(
    func: Callable[..., Any],
    takes_context: bool,
    context: Any,
    run_id: str | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    reporter = _begin(func, context, run_id, args, kwargs)
    if reporter is None:
        return None
    try:
        with reporting_for(reporter):
            value = func(context, *args, **kwargs) if takes_context else func(*args, **kwargs)
    except Cancelled:
        _conclude(reporter, Status.CANCELLED)
        return None
    except BaseException as error:
        _conclude_failure(reporter, error)
        raise
    _conclude_success(reporter, value)
    return value


async def _arun(
    func: Callable[..., Any],
    takes_context: bool,
    context: Any,
    run_id: str | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    reporter = await sync_to_async(_begin)(func, context, run_id, args, kwargs)
    if reporter is None:
        return None
    try:
        with reporting_for(reporter):
            if takes_context:
                value = await func(context, *args, **kwargs)
            else:
                value = await func(*args, **kwargs)
    except Cancelled:
        await sync_to_async(_conclude)(reporter, Status.CANCELLED)
        return None
    except BaseException as error:
        await sync_to_async(_conclude_failure)(reporter, error)
        raise
    await sync_to_async(_conclude_success)(reporter, value)
    return value


def _begin(
    func: Callable[..., Any],
    context: Any,
    run_id: str | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> RunReporter | None:
    result = context.task_result
    if run_id is None:
        run_id = str(
            lifecycle.create_run(
                f"{func.__module__}.{func.__qualname__}", args, kwargs, backend=result.backend
            ).pk
        )
    if lifecycle.begin(run_id, str(result.id), result.backend) is None:
        return None
    reporter = RunReporter(run_id)
    reporter.start()
    return reporter


def _conclude_success(reporter: RunReporter, value: Any) -> None:
    try:
        result = json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    except (TypeError, ValueError) as error:
        _conclude_failure(reporter, TypeError(f"The task's result cannot be stored: {error}"))
        return
    _conclude(reporter, Status.SUCCEEDED, result=result)


def _conclude_failure(reporter: RunReporter, error: BaseException) -> None:
    interrupted = isinstance(error, KeyboardInterrupt | SystemExit | asyncio.CancelledError)
    _conclude(
        reporter,
        Status.FAILED,
        error=error,
        reason="interrupted" if interrupted else "exception",
        traceback="".join(traceback.format_exception(error)),
    )


def _conclude(reporter: RunReporter, status: str, **outcome: Any) -> None:
    """Store what is pending and the terminal event; retried while the database is away, for
    up to TASK_WORKER_TIMEOUT (then the sweeper ends the run)."""
    assert reporter.run_id is not None
    progress, texts = reporter.drain()
    deadline = time.monotonic() + app_settings.TASK_WORKER_TIMEOUT
    delay = 0.1
    while True:
        try:
            lifecycle.finish(reporter.run_id, status, progress=progress, texts=texts, **outcome)
            return
        except Exception:
            if time.monotonic() + delay > deadline:
                logger.exception("Could not store the end of task run %s.", reporter.run_id)
                return
            logger.warning("Could not store the end of task run %s; retrying.", reporter.run_id)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
