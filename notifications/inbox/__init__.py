"""The inbox: per-user notifications on `user:<pk>` and `broadcast`."""
