"""docs/configuration.md, followed literally: a project from `django-admin startproject`,
set up with the documented blocks, migrated, served and watched in Chromium."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import free_port, wait_for_port

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
BLOCK = re.compile(
    r"<!-- fresh-project: (?P<action>\w+)(?: (?P<path>\S+))? -->\n```\w*\n(?P<code>.*?)```", re.S
)
USERNAME, PASSWORD = "admin", "a-long-password-for-admin"

pytestmark = pytest.mark.live


def documented_blocks() -> list[tuple[str, str | None, str]]:
    return [(m["action"], m["path"], m["code"]) for m in BLOCK.finditer(DOCS.read_text())]


def project_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")}
    return {
        **env,
        "DJANGO_SUPERUSER_USERNAME": USERNAME,
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
        "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
        "PYTHONUNBUFFERED": "1",
    }


def python_command(line: str, port: int) -> list[str]:
    words = shlex.split(line)
    assert words[0] == "python", line
    words[0] = sys.executable
    if words[1:3] == ["manage.py", "createsuperuser"]:
        words.append("--noinput")
    return [str(port) if word == "8000" else word for word in words]


@pytest.fixture
def fresh_project(tmp_path):
    run = {"cwd": tmp_path, "env": project_env(), "check": True, "capture_output": True}
    subprocess.run([sys.executable, "-m", "django", "startproject", "mysite", "."], **run)
    (tmp_path / "templates").mkdir()
    blocks = documented_blocks()
    assert {action for action, _, _ in blocks} == {"append", "write", "shell", "publish"}
    for action, path, code in blocks:
        if action == "write":
            (tmp_path / path).write_text(code)
        elif action == "append":
            with (tmp_path / path).open("a") as settings:
                settings.write("\n" + code)
    port = free_port()
    server = None
    shell = next(code for action, _, code in blocks if action == "shell")
    for line in shell.strip().splitlines():
        command = python_command(line, port)
        if "notifications.server" in command:
            log = (tmp_path / "server.log").open("w")
            server = subprocess.Popen(
                command, cwd=tmp_path, env=project_env(), stdout=log, stderr=subprocess.STDOUT
            )
            wait_for_port(port, process=server)
        else:
            subprocess.run(command, **run)
    assert server is not None, "the documented commands start no server"
    publish = next(code for action, _, code in blocks if action == "publish")
    yield tmp_path, port, publish
    server.terminate()
    server.wait(10)
    print((tmp_path / "server.log").read_text())


async def manage(directory, *args):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "manage.py",
        *args,
        cwd=directory,
        env=project_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return output.decode()


async def test_a_project_set_up_as_documented_shows_a_published_event_in_chromium(
    fresh_project, browser
):
    directory, port, publish = fresh_project
    assert "no issues" in await manage(directory, "check")
    page = await browser.new_page()
    await page.goto(f"http://127.0.0.1:{port}/admin/login/?next=/")
    await page.fill("input[name=username]", USERNAME)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("input[type=submit]")
    await page.wait_for_url(f"http://127.0.0.1:{port}/")
    await page.wait_for_function("() => window.live && live.client().state === 'open'")
    await manage(directory, "shell", "-c", publish)
    await page.wait_for_selector(
        "#events li:has-text('notification.created: Hello from the shell')", timeout=10_000
    )
    await page.close()
