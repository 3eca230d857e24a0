"""The app's models: the event log's and each domain's."""

from notifications.chat.models import Room
from notifications.log import Event, Stream

__all__ = ["Event", "Room", "Stream"]
