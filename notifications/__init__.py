"""Live pages for Django: a durable event log with WebSocket and SSE transports."""

__version__ = "0.1.0"
