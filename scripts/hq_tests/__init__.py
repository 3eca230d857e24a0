"""Helpers of `scripts/run-hq-tests`: the child process that runs django-notifications-hq's
suite (`python -m hq_tests`) and the Django test runner that records each test's outcome."""
