"""Token streams: any iterator of text chunks (an LLM client's, say) into a run's output.
The chunks are in the event log, so a reader resumes after any disconnect, even after the
producer crashed."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Iterable

from notifications.tasks.reporting import current_run

__all__ = ["astream_text", "stream_text"]


def stream_text(chunks: Iterable[str]) -> str:
    """Write each chunk to the current run's output as it comes; the whole text. Stops (with
    `Cancelled`) at the first chunk after someone asked the run to stop."""
    run = current_run()
    parts: list[str] = []
    try:
        for chunk in chunks:
            run.write(chunk)
            parts.append(chunk)
    finally:
        close = getattr(chunks, "close", None)
        if callable(close):
            close()
    return "".join(parts)


async def astream_text(chunks: AsyncIterable[str] | Iterable[str]) -> str:
    """The async form of `stream_text`, for async iterators too."""
    if not isinstance(chunks, AsyncIterable):
        return stream_text(chunks)
    run = current_run()
    parts: list[str] = []
    try:
        async for chunk in chunks:
            run.write(chunk)
            parts.append(chunk)
    finally:
        close = getattr(chunks, "aclose", None)
        if callable(close):
            result = close()
            if inspect.isawaitable(result):
                await result
    return "".join(parts)
