"""Chat: rooms and their `room:<slug>` streams."""
