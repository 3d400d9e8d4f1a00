"""The base of the project's WebSocket consumers."""

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from lobby_site import metrics


class Consumer(AsyncWebsocketConsumer):
    """A Channels WebSocket consumer that does not visit the ORM thread for every message.

    Channels' `dispatch` closes stale database connections before each handler — a hop to
    the process's one ORM thread for every frame received and every group event delivered
    (five per move and seat count, queued behind every other room's database work). Our
    handlers reach the database only through `database_sync_to_async`, which does the same
    on that thread as part of its call, so the hop is skipped.
    """

    metrics_kind = ""  # "lobby", "game" or "watch": counted in /metrics while open

    async def __call__(self, scope, receive, send):
        # However the consumer ends (closed, or cancelled by daphne), an accepted connection
        # leaves the count of open connections.
        try:
            await super().__call__(scope, receive, send)
        finally:
            if getattr(self, "metrics_counted", False):
                self.metrics_counted = False
                metrics.CONNECTIONS.labels(self.metrics_kind).dec()

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol, headers)
        if self.metrics_kind and not getattr(self, "metrics_counted", False):
            self.metrics_counted = True
            metrics.CONNECTIONS.labels(self.metrics_kind).inc()

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
