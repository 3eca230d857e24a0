"""A DiscoverRunner that also writes every test's outcome to the JSON file named by
`HQ_TESTS_RESULT`: `{"tests": {test_id: {"outcome": ..., "detail": ...}}}`."""

from __future__ import annotations

import json
import os
from typing import Any

from django.test.runner import DiscoverRunner
from django.test.utils import iter_test_cases


class RecordingRunner(DiscoverRunner):
    def run_suite(self, suite: Any, **kwargs: Any) -> Any:
        tests = [test.id() for test in iter_test_cases(suite)]
        result = super().run_suite(suite, **kwargs)
        outcomes: dict[str, dict[str, str]] = {
            test_id: {"outcome": "passed", "detail": ""} for test_id in tests
        }
        for outcome, entries in (
            ("failed", result.failures),
            ("error", result.errors),
            ("skipped", result.skipped),
            ("expected failure", result.expectedFailures),
        ):
            for test, detail in entries:
                outcomes[test.id()] = {"outcome": outcome, "detail": str(detail)}
        for test in result.unexpectedSuccesses:
            outcomes[test.id()] = {"outcome": "unexpected success", "detail": ""}
        with open(os.environ["HQ_TESTS_RESULT"], "w", encoding="utf-8") as file:
            json.dump({"tests": outcomes, "run": result.testsRun}, file, indent=1)
        return result
