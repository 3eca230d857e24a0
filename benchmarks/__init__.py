"""Benchmark harness: a fan-out load tool, the Channels-tutorial baseline and a raw server."""
