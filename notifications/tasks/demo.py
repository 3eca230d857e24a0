"""Tasks to try the runner with: no network, no model download. `write_text` generates text
locally, chunk by chunk, the way a language model streams tokens; swap `local_tokens` for your
model client's stream."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator
from typing import Any

from notifications.tasks.reporting import log, progress
from notifications.tasks.runner import task
from notifications.tasks.streaming import stream_text

TEXT = (
    "the stream keeps every event in order so a reader who drops off picks up exactly where it "
    "left while the worker goes on writing each token lands in the log once and the page shows "
    "it as soon as it arrives nothing is lost when the network blinks or the server restarts"
)
WORDS = tuple(TEXT.split())


@task()
def crunch_numbers(steps: int = 40, delay: float = 0.1) -> dict[str, Any]:
    """Works through `steps` steps, reporting progress and logging a line for each."""
    steps = max(1, min(int(steps), 10_000))
    digest = hashlib.sha256()
    for step in range(1, steps + 1):
        time.sleep(max(0.0, min(float(delay), 5.0)))
        digest.update(str(step).encode())
        progress(step, steps, f"Step {step} of {steps}")
        log(f"step {step:>4}: {digest.hexdigest()[:16]}")
    return {"steps": steps, "digest": digest.hexdigest()}


@task()
def write_text(prompt: str = "", words: int = 120, delay: float = 0.03) -> dict[str, Any]:
    """Streams `words` generated words as output, like a language model."""
    words = max(1, min(int(words), 100_000))
    tokens = local_tokens(prompt, words, delay, on_word=lambda n: progress(n, words))
    text = stream_text(tokens)
    return {"words": words, "characters": len(text)}


@task()
def reply(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """A chat reply (for `RunChatView`): generated text about the last user message."""
    prompt = last_user_text(messages)
    text = stream_text(local_tokens(prompt, 60, 0.03))
    return {"characters": len(text)}


def local_tokens(prompt: str, words: int, delay: float, on_word: Any = None) -> Iterator[str]:
    """`words` words, seeded by the prompt, with `delay` seconds between them."""
    chooser = random.Random(prompt)
    lead = [word for word in prompt.split() if word.isalnum()][:3]
    for number in range(1, words + 1):
        time.sleep(max(0.0, min(float(delay), 5.0)))
        word = lead[number - 1] if number <= len(lead) else chooser.choice(WORDS)
        if on_word is not None:
            on_word(number)
        yield (word.capitalize() if number == 1 else " " + word) + ("." if number == words else "")


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            parts = message.get("parts") or []
            return " ".join(
                str(part.get("text", ""))
                for part in parts
                if isinstance(part, dict) and part.get("type") == "text"
            )
    return ""
