"""Long tasks: their `task:<id>` streams of progress, output and a terminal state."""
