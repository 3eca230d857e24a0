"""Start a run of a benchmark task for a user; print its id.

python -m benchmarks.task_start NAME JSON_KWARGS OWNER
"""

from __future__ import annotations

import json
import os
import sys

if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    django.setup()
    from django.contrib.auth import get_user_model

    from benchmarks import task_jobs
    from notifications.tasks import start

    owner = get_user_model().objects.get(username=sys.argv[3])
    task = getattr(task_jobs, sys.argv[1])
    print(start(task, owner=owner, **json.loads(sys.argv[2])).pk)
