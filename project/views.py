import json
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from notifications.models import Event, Stream
from notifications.streams import InvalidStream, live_event, validate_stream


class ConsoleView(LoginRequiredMixin, TemplateView):
    """The live console: the connection state and every event of one stream, live."""

    template_name = "console.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        stream = self.request.GET.get("stream") or "broadcast"
        try:
            validate_stream(stream)
        except InvalidStream:
            stream = "broadcast"
        head = Stream.objects.filter(key=stream).values_list("last_seq", flat=True).first() or 0
        recent = Event.objects.filter(stream=stream, seq__gt=max(0, head - 20), seq__lte=head)
        context.update(
            stream=stream,
            transport="sse" if self.request.GET.get("transport") == "sse" else "websocket",
            history=[json.loads(live_event(event).payload) for event in recent.order_by("seq")],
            cursors={stream: head},
        )
        return context
