"""The app's models: the event log's and each domain's."""

from notifications.chat.models import Membership, Message, Room
from notifications.inbox.models import Broadcast, InboxMark, Notification
from notifications.log import Event, Stream
from notifications.tasks.models import TaskRun

__all__ = [
    "Broadcast",
    "Event",
    "InboxMark",
    "Membership",
    "Message",
    "Notification",
    "Room",
    "Stream",
    "TaskRun",
]
