"""The `useChat` endpoint read by the AI SDK's own client code (the npm `ai` package's
DefaultChatTransport and readUIMessageStream), against daphne and a real worker."""

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from notifications.log import Event
from notifications.tasks.models import TaskRun
from tests.clients import CSRF

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

READER = Path(__file__).resolve().parents[1] / "js" / "ui-message-stream.mjs"


async def read_with_ai_sdk(server, session, chat_id, *options):
    command = [
        "node",
        str(READER),
        "--api",
        f"{server.http}/live/tasks/chat",
        "--chat-id",
        chat_id,
        "--header",
        f"Cookie: sessionid={session}; csrftoken={CSRF}",
        "--header",
        f"X-CSRFToken: {CSRF}",
        *options,
    ]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return json.loads(out)


def output_of(run):
    events = Event.objects.filter(stream=run.stream, type="task.output").order_by("seq")
    return "".join(event.data["text"] for event in events)


async def test_use_chat_reads_a_reply_cuts_it_off_and_resumes_it_whole(daphne, worker, make_user):
    server = daphne()
    worker()
    _, session = await make_user("alice")
    first = await read_with_ai_sdk(
        server, session, "chat-a", "--message", "tell me about streams", "--max-chunks", "6"
    )
    assert first["status"] == "stream" and first["aborted"] and not first["finished"]
    assert first["headers"]["x-vercel-ai-ui-message-stream"] == "v1"
    assert first["chunkTypes"][:2] == ["start", "text-start"]
    resumed = await read_with_ai_sdk(server, session, "chat-a", "--resume")
    assert resumed["status"] == "stream" and resumed["finished"] and not resumed["errors"]
    run = await TaskRun.objects.aget(topic="chat-a")
    assert run.status == TaskRun.Status.SUCCEEDED
    whole = await asyncio.to_thread(output_of, run)
    assert resumed["messageId"] == first["messageId"] == str(run.pk)
    assert resumed["text"] == whole and whole.startswith(first["text"]) and whole.startswith("Tell")
    assert resumed["chunkTypes"][-2:] == ["text-end", "finish"]
    _, bob = await make_user("bob")
    assert (await read_with_ai_sdk(server, bob, "chat-a", "--resume"))["status"] == "none"
