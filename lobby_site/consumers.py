"""The base of the project's WebSocket consumers."""

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import InterfaceError, OperationalError

# The database cannot be reached (down, restarting, the connection cut): the request is
# refused with ERROR UNAVAILABLE and may be sent again; the process reconnects by itself on a
# later call (Django replaces a connection that failed). A request whose commit went through
# before the connection broke is harmless to resend: a game answer is then STALE_PROMPT.
DATABASE_DOWN = (OperationalError, InterfaceError)


class Consumer(AsyncWebsocketConsumer):
    """A Channels WebSocket consumer that does not visit the ORM thread for every message.

    Channels' `dispatch` closes stale database connections before each handler — a hop to
    the process's one ORM thread for every frame received and every group event delivered
    (five per move and seat count, queued behind every other room's database work). Our
    handlers reach the database only through `database_sync_to_async`, which does the same
    on that thread as part of its call, so the hop is skipped.
    """

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
