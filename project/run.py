"""`make run`: the demo site on daphne and its task worker (`db_worker`), together. Ctrl-C
stops both (a second Ctrl-C stops a running task at once); if one exits, so does the other."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

GRACE = 15.0


def main() -> int:
    port = os.environ.get("PORT", "8000")
    python = sys.executable
    commands = {
        "server": [
            *(python, "-m", "notifications.server", "-b", "127.0.0.1", "-p", port),
            "project.asgi:application",
        ],
        "worker": [
            *(python, "manage.py", "db_worker", "--queue-name", "*", "--no-reload"),
            *("--interval", "0.2", "--no-startup-delay"),
        ],
    }
    processes = {
        name: subprocess.Popen(command, start_new_session=True)
        for name, command in commands.items()
    }
    stopping: list[float] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.append(time.monotonic())
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"Serving on http://127.0.0.1:{port}/ with a task worker; Ctrl-C stops both.")
    while any(process.poll() is None for process in processes.values()):
        if not stopping and any(process.poll() is not None for process in processes.values()):
            stop(signal.SIGTERM, None)
        if stopping and time.monotonic() - stopping[0] > GRACE:
            for process in processes.values():
                if process.poll() is None:
                    process.kill()
        time.sleep(0.1)
    return max(abs(process.returncode or 0) for process in processes.values())


if __name__ == "__main__":
    sys.exit(main())
