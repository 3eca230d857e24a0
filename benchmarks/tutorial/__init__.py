"""The baseline: a chat consumer written exactly the way the Channels tutorial writes one.

One channel-layer group per room, `group_send` per message, and (inside Channels) one layer
`receive()` per connected consumer. Served by `benchmarks.tutorial.asgi:application`, which
reuses `project.settings`, so it gets the very same channels-redis layer config as our app.
"""
