"""The base of the project's WebSocket consumers, and how their handlers reach the services."""

import asyncio
import contextlib
import functools

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from lobby_site import metrics
from lobby_site.move_threads import MoveThreads

# The database cannot be reached (down, restarting, the connection cut): the request is
# refused with ERROR UNAVAILABLE and may be sent again; the process reconnects by itself on a
# later call (Django replaces a connection that failed). A request whose commit went through
# before the connection broke is harmless to resend: a game answer is then STALE_PROMPT.
DATABASE_DOWN = (OperationalError, InterfaceError)

_move_threads: MoveThreads | None = None


def move_service(function):
    """Return the service of a move (`game_answer`) as a coroutine function, run where the settings say.

    Every other database call goes to the process's one ORM thread (`database_sync_to_async`),
    one after another. With `DB_THREADS` > 1 on PostgreSQL, moves run on that many threads
    instead (lobby_site.move_threads), each with its own connection, so one room's round trips do not queue
    behind another's: at 5,000 players on two processes, one thread was where a move waited
    (bench/README.md, nineteenth session). Safe because a move is a compare-and-set on the
    game row's version, retried when it loses: the same rule that lets several processes serve
    one room. Only moves: a seat's other requests (its HELLO, GET_ROOMMATES…) still wait
    behind the presence writes queued on the ORM thread before them, and show them.
    """
    return _move_runner(function, settings.DB_THREADS, connection.vendor)


@functools.cache
def _move_runner(function, threads: int, vendor: str):
    # Built once per service and setting, not on every move: building the wrapper was about
    # 1% of a busy process's CPU (bench/README.md, twentieth session).
    global _move_threads
    if threads <= 1 or vendor == "sqlite":
        return database_sync_to_async(function)
    if _move_threads is None:
        _move_threads = MoveThreads(threads)
    return functools.partial(_move_threads.call, function)


async def dispatch_in_turn(sources, dispatch) -> None:
    """Receive from each of `sources` (the client's socket, the channel layer) and `dispatch`
    each message, one dispatch at a time; return or raise when a dispatch raises.

    Channels' `await_many_dispatch` does the same with a new task for every message received,
    and an `asyncio.wait` over both sources between two messages. A socket waits seconds
    between two messages, so what it waits with outlives young garbage collections: at 5,000
    players about half of the 130,000 objects a young collection walked were those tasks,
    their coroutines, futures and contexts (bench/README.md, twenty-first session). Here each
    source has one loop for the connection's life, and what a socket waits with between two
    messages is the source's own receive: a few objects, not ~30.
    The lock keeps Channels' order: a handler never runs beside another of the same consumer.
    """
    turn = asyncio.Lock()

    async def pump(receive_one):
        while True:
            message = await receive_one()
            async with turn:
                await dispatch(message)

    pumps = [asyncio.ensure_future(pump(receive_one)) for receive_one in sources]
    try:
        done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        ended = done.pop().exception()  # a pump only ends by raising: StopConsumer, or a handler's error
    finally:
        for waiting in pumps:
            waiting.cancel()
        for waiting in pumps:
            with contextlib.suppress(asyncio.CancelledError, Exception):  # what ended the first pump is raised below
                await waiting
        # The raised exception's traceback holds this frame: without its tasks (which hold the
        # exception), no reference cycle keeps the consumer for a full garbage collection.
        pumps.clear()
        done = None
    try:
        raise ended
    finally:
        ended = None


class Consumer(AsyncWebsocketConsumer):
    """A Channels WebSocket consumer that does not visit the ORM thread for every message.

    Channels' `dispatch` closes stale database connections before each handler — a hop to
    the process's one ORM thread for every frame received and every group event delivered
    (five per move and seat count, queued behind every other room's database work) — and
    its `websocket_disconnect` once more for every socket that closes (when a game ends, its
    spectators' hundreds of sockets close within a second, each hop queued ahead of every
    move). Our handlers reach the database only through `database_sync_to_async`, which
    does the same on that thread as part of its call, so both hops are skipped.
    """

    metrics_kind = ""  # "lobby", "game" or "watch": counted in /metrics while open
    # True: the consumer has no channel (`channel_name` None) until it calls `channel_needed`.
    # On Redis a channel is a subscription, made when the socket opens and ended when it
    # closes: about a fifth of what a lobby socket cost daphne to open and close (bench/README.md,
    # twenty-second session), where most lobby sockets never hear from the layer.
    channel_on_demand = False

    async def __call__(self, scope, receive, send):
        # Channels' own __call__, but for how messages reach `dispatch` (`dispatch_in_turn`).
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = None
        sources = [receive]
        if self.channel_layer is not None:
            self._channel_made = asyncio.Event()
            if not self.channel_on_demand:
                await self.channel_needed()
            sources.append(self._receive_from_channel)
        # However the consumer ends (closed, or cancelled by daphne), an accepted connection
        # leaves the count of open connections.
        try:
            await dispatch_in_turn(sources, self.dispatch)
        except StopConsumer:
            return  # how a consumer ends once its socket has closed (Channels' rule), not an error
        finally:
            if getattr(self, "metrics_counted", False):
                self.metrics_counted = False
                metrics.CONNECTIONS.labels(self.metrics_kind).dec()

    async def channel_needed(self) -> str:
        """Return this consumer's channel name, made the first time it is needed."""
        if self.channel_name is None:
            self.channel_name = await self.channel_layer.new_channel()
            self._channel_made.set()
        return self.channel_name

    async def _receive_from_channel(self) -> dict:
        if self.channel_name is None:
            await self._channel_made.wait()
        return await self.channel_layer.receive(self.channel_name)

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol, headers)
        if self.metrics_kind and not getattr(self, "metrics_counted", False):
            self.metrics_counted = True
            metrics.CONNECTIONS.labels(self.metrics_kind).inc()

    async def send(self, text_data=None, bytes_data=None, close=False):
        """Send a WebSocket message; one for a socket whose client is already closing it is dropped.

        Between the client's close frame and the end of its TCP connection, daphne still hands
        our sends to autobahn, which raises `Disconnected`. Raised here, it ended the consumer
        before its `websocket.disconnect` ran — the groups were never left (group sends went on
        filling a dead channel) and its tasks never cancelled. Dropped, the frame is lost with
        the socket, as the client meant, and the disconnect that follows cleans up.
        """
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except Disconnected:
            metrics.SENDS_TO_CLOSING_SOCKETS.inc()

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message):
        for group in self.groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.disconnect(message["code"])
        raise StopConsumer()
