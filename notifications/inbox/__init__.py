"""The inbox: per-user notifications, stored as rows and pushed live on `user:<id>`."""
