"""The game handler (`/ws/rooms/<room_id>/`, docs/protocol.md "Game handler").

Thin: each frame is parsed with `lobby_site.wire`, handled by one service call (a move's through
`lobby_site.consumers.move_service`), and what the service returns is sent. A change reaches every
connection of the room as one message to the room group (`room.<room>`) after commit, in
whatever process its connections live; each connection keeps its own seat's part.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time

from channels.db import database_sync_to_async
from lobby_site.consumers import DATABASE_DOWN, Consumer, move_service
from django.conf import settings

from game import services
from lobby_site import metrics
from game.watchers import (
    player_command,
    read_shared,
    roommates_shared,
    spectator_counted,
    spectator_turn,
    spectators_pending,
    watch_join,
    watch_leave,
)
from lobby_site.wire import (
    GAME_CMDS,
    ClientCmd,
    ClientFrame,
    ErrorCode,
    ProtocolError,
    RateLimiter,
    clean_hello,
    encode,
    parse_frame,
    read_frame,
    refusal_frame,
    wants_batches,
    clean_level,
)
from rooms import services as rooms_services
from rooms.clock import ensure_clock_running
from rooms.notify import room_group
from rooms.presence import connection_ended, connection_opened

logger = logging.getLogger(__name__)

HELLO_TIMEOUT = 10  # seconds (docs/protocol.md): the first frame must be HELLO by then
UNAUTHORIZED_CLOSE = 4401
LEFT_CLOSE = 1000  # after LEAVE_REP: the seat is no longer this connection's
ROOM_CLOSED_CLOSE = 4410  # docs/protocol.md "Room closed by an operator"
UNAVAILABLE_CLOSE = 4503  # HELLO could not reach the database: reconnect later
OPENED_ELSEWHERE_CLOSE = 4409  # a newer connection of the seat took over (CONNECTIONS_PER_SEAT)
CLOSED = object()  # the end of a connection's queue of frames (a binary frame queues None)
# Frames of one connection waiting to be handled; one more closes the socket (FLOODED_CLOSE).
COMMANDS_WAITING = 1000
FLOODED_CLOSE = 1008  # policy violation: a client that sent COMMANDS_WAITING frames ahead of their answers


class GameConsumer(Consumer):
    metrics_kind = "game"

    async def __call__(self, scope, receive, send):
        # However the consumer ends — closed, or cancelled by daphne for being slow to
        # close — its connection ends with it (a plain call, safe while being cancelled).
        try:
            await super().__call__(scope, receive, send)
        finally:
            for task in getattr(self, "tasks", {}).values():
                task.cancel()
            if getattr(self, "seat", None) is not None:
                connection_ended(self.channel_name)

    async def connect(self):
        self.room_id: int = self.scope["url_route"]["kwargs"]["room_id"]
        self.seat: dict | None = None  # {"player_id", "seat", "name"} once HELLO succeeded
        self.token: str | None = None  # the seat's token: a rematch seat's token derives from it
        self.hello_seen = False
        self.batch = False  # the client asked for several frames per message (HELLO "batch")
        self.limiter = RateLimiter(settings.RATE_LIMIT)
        self.tasks: dict[str, asyncio.Task] = {}
        self.commands: asyncio.Queue = asyncio.Queue()  # a seat's frames, handled in order, then CLOSED
        self.flooded = False  # closed for sending COMMANDS_WAITING frames ahead of their answers
        await self.accept()
        self.tasks["hello"] = asyncio.create_task(self._hello_deadline())
        ensure_clock_running()

    async def disconnect(self, code):
        for name, task in self.tasks.items():
            if name != "commands":
                task.cancel()
        if "commands" in self.tasks:
            # What the client sent before it closed still counts, as it did when commands
            # were handled in line: a move sent just before a close is played.
            self.commands.put_nowait(CLOSED)
            await self.tasks["commands"]
        if self.seat is None:
            return
        self.seat = None
        connection_ended(self.channel_name)
        await self._leave_groups()

    async def _leave_groups(self) -> None:
        await self.channel_layer.group_discard(room_group(self.room_id), self.channel_name)

    async def send_frame(self, message: dict) -> None:
        await self.send(text_data=encode(message))

    async def send_texts(self, texts: list[str]) -> None:
        """Send encoded frames: as one message (a JSON array) when the client asked for batches."""
        if self.batch and len(texts) > 1:
            await self.send(text_data="[" + ",".join(texts) + "]")
            return
        for text in texts:
            await self.send(text_data=text)

    # --- the handshake

    async def _hello_deadline(self) -> None:
        await asyncio.sleep(HELLO_TIMEOUT)
        if not self.hello_seen:
            await self._refuse(ProtocolError(ErrorCode.UNAUTHORIZED, detail="no HELLO in time"), None)

    async def _unavailable(self, raw) -> None:
        """Refuse the handshake for now: the database is down. ERROR UNAVAILABLE, close 4503."""
        logger.warning("the database is unreachable: HELLO refused as UNAVAILABLE")
        await self.send_frame(metrics.error_counted(refusal_frame(ProtocolError(ErrorCode.UNAVAILABLE), raw)))
        await self.close(code=UNAVAILABLE_CLOSE)

    async def _refuse(self, error: ProtocolError, raw) -> None:
        """Refuse the handshake: whatever went wrong, the answer is UNAUTHORIZED and close 4401."""
        await self.send_frame(metrics.error_counted(
            refusal_frame(ProtocolError(ErrorCode.UNAUTHORIZED, error.field, error.detail), raw)))
        await self.close(code=UNAUTHORIZED_CLOSE)

    async def _hello(self, text_data) -> None:
        """Authenticate the first frame and answer it from one read; the connection is recorded in a batch."""
        self.hello_seen = True
        self.tasks.pop("hello").cancel()
        try:
            message = parse_frame(text_data, frozenset({ClientCmd.HELLO}), settings.MAX_FRAME_BYTES)
            token = clean_hello(message.payload, self.room_id)
        except ProtocolError as error:
            await self._refuse(error, text_data)
            return
        # Join the room's group first, so nothing committed after the snapshot below is missed
        # (group messages wait until this handler returns).
        await self.channel_layer.group_add(room_group(self.room_id), self.channel_name)
        try:
            opened = await database_sync_to_async(services.seat_hello)(room_id=self.room_id, token=token)
        except ProtocolError as error:
            await self._leave_groups()
            await self._refuse(error, text_data)
            return
        except DATABASE_DOWN:
            await self._leave_groups()
            await self._unavailable(text_data)
            return
        except Exception:
            # The client reconnects and says HELLO again; the cause goes to the log. (Not
            # 1011: the WebSocket server only lets an application close with 1000 or 3000–4999.)
            logger.exception("opening a game connection failed")
            await self._leave_groups()
            await self.close(code=UNAVAILABLE_CLOSE)
            return
        self.batch = wants_batches(message.payload)
        self.seat, self.token = opened["seat"], token
        await self.send_texts([encode(frame) for frame in opened["frames"]])
        connection_opened(self.channel_name, self.seat["player_id"])
        self.tasks["commands"] = asyncio.create_task(self._handle_commands())
        if opened["waiting"]:
            self.tasks["roommates"] = asyncio.create_task(self._push_roommates())

    async def _push_roommates(self) -> None:
        """Send ROOMMATES every ROOMMATE_INTERVAL until the game begins."""
        while True:
            await asyncio.sleep(settings.ROOMMATE_INTERVAL)
            try:
                data = await roommates_shared(self.room_id)
            except Exception:
                logger.exception("roommate push failed")
                continue
            if data is None:
                return
            await self.send_frame(services.messages.roommates_frame(data))

    # --- client commands

    async def receive(self, text_data=None, bytes_data=None):
        if self.seat is None:
            if not self.hello_seen:
                await self._hello(text_data)
            return
        if self.commands.qsize() >= COMMANDS_WAITING:
            # Why a bound: frames wait here while the one before is at the database, and a
            # client sending faster than the rate limit allows would otherwise fill the
            # process's memory before the limiter, which runs as each is handled, saw them.
            # Why a close, not a refusal: answers come in the order of the frames (clients
            # pipeline on it), and this frame's answer would overtake a thousand others.
            if not self.flooded:
                self.flooded = True
                logger.warning("a game socket sent %s frames ahead of their answers: closed", COMMANDS_WAITING)
                await self.close(code=FLOODED_CLOSE)
            return
        self.commands.put_nowait(text_data)

    async def _handle_commands(self) -> None:
        """Handle the seat's frames one after another, beside the connection's group events.

        Why not in line, in `receive`: a consumer handles one message at a time, so the mover's
        own frames of a move (a group event, sent on commit) waited until the service call had
        returned to the event loop, after the other seats had theirs: 0.1 ms later at the
        median, up to 4 ms when the ORM thread and a busy loop were slow to hand over
        (bench/README.md, eleventh session). Frames are still handled in the order they came,
        each after the last is done.
        """
        while (text_data := await self.commands.get()) is not CLOSED:
            async with player_command():  # the spectators' copies make way for it
                await self._command(text_data)

    async def _command(self, text_data: str | None) -> None:
        try:
            message = read_frame(text_data, self.ALLOWED, settings.MAX_FRAME_BYTES, self.limiter)
            await self.COMMANDS[message.cmd](self, message)
        except ProtocolError as error:
            await self.send_frame(metrics.error_counted(refusal_frame(error, text_data)))
        except DATABASE_DOWN as error:
            logger.warning("the database is unreachable: a game command refused as UNAVAILABLE (%s)", error)
            await self.send_frame(metrics.error_counted(refusal_frame(ProtocolError(ErrorCode.UNAVAILABLE), text_data)))
        except Exception:
            # Nothing a client sends may take the connection down; the cause goes to the log.
            logger.exception("game command failed")

    async def game_message(self, message: ClientFrame) -> None:
        started = time.perf_counter()
        await move_service(services.game_answer)(
            room_id=self.room_id, seat=self.seat["seat"], payload=message.payload)
        metrics.MOVES.inc()
        metrics.MOVE_SECONDS.observe(time.perf_counter() - started)

    async def chat(self, message: ClientFrame) -> None:
        await database_sync_to_async(services.game_chat)(
            room_id=self.room_id, seat=self.seat["seat"], payload=message.payload)

    async def get_game_status(self, message: ClientFrame) -> None:
        await self.send_frame(await database_sync_to_async(services.game_status)(
            room_id=self.room_id, seat=self.seat["seat"], reply_to=message.msg_id))

    async def get_roommates(self, message: ClientFrame) -> None:
        await self.send_frame(await database_sync_to_async(services.roommates_frame)(
            room_id=self.room_id, reply_to=message.msg_id))

    async def leave_request(self, message: ClientFrame) -> None:
        await database_sync_to_async(services.game_leave_request)(
            room_id=self.room_id, seat=self.seat["seat"], player_id=self.seat["player_id"])

    async def leave(self, message: ClientFrame) -> None:
        await database_sync_to_async(services.game_leave)(room_id=self.room_id, seat=self.seat["seat"])

    async def add_computer(self, message: ClientFrame) -> None:
        await database_sync_to_async(services.game_add_computer)(
            room_id=self.room_id, seat=self.seat["seat"], level=clean_level(message.payload))

    async def rematch(self, message: ClientFrame) -> None:
        """REMATCH: the first one makes the rematch and seats the asker (JOIN_ROOM_REP); later ones get the offer."""
        made = await database_sync_to_async(rooms_services.room_rematch)(
            room_id=self.room_id, seat=self.seat["seat"], token=self.token)
        if "offer" in made:
            await self.send_frame(services.messages.rematch_offer_frame(made["offer"], message.msg_id))
        else:
            await self.send_frame(services.messages.rematch_joined_frame(made["room"], made["player"], message.msg_id))

    async def join_rematch(self, message: ClientFrame) -> None:
        room, player = await database_sync_to_async(rooms_services.rematch_join)(
            room_id=self.room_id, seat=self.seat["seat"], token=self.token)
        await self.send_frame(services.messages.rematch_joined_frame(room, player, message.msg_id))

    async def hello_again(self, message: ClientFrame) -> None:
        raise ProtocolError(ErrorCode.INVALID, "cmd", "this connection has already said HELLO")

    COMMANDS = {
        ClientCmd.GAME_MESSAGE: game_message,
        ClientCmd.CHAT: chat,
        ClientCmd.GET_GAME_STATUS: get_game_status,
        ClientCmd.GET_ROOMMATES: get_roommates,
        ClientCmd.HELLO: hello_again,
        ClientCmd.LEAVE_REQUEST: leave_request,
        ClientCmd.LEAVE: leave,
        ClientCmd.ADD_COMPUTER: add_computer,
        ClientCmd.REMATCH: rematch,
        ClientCmd.JOIN_REMATCH: join_rematch,
    }
    ALLOWED = frozenset(COMMANDS)

    # --- group events

    async def room_frames(self, event):
        """Deliver this seat's part of a change (`room.frames`: every seat's frames, by seat)."""
        part = event["seats"].get(str(self.seat["seat"])) if self.seat is not None else None
        if part is not None:
            await self._deliver_part(part)

    async def _deliver_part(self, event):
        """Send a seat's part of a change; GAME_BEGIN ends the roommate pushes, LEAVE_REP the connection."""
        if event["begins"] and "roommates" in self.tasks:
            self.tasks.pop("roommates").cancel()
        await self.send_texts(event["texts"])
        if event["leaves"]:
            await self.close(code=LEFT_CLOSE)

    async def roommates_changed(self, event):
        """Send ROOMMATES to this connection while the room still waits (`roommates.changed`).

        Every seat connection of the room here hears the change at once: one read serves them
        all (a room filling up read its roommates once per connection per change, ~14 reads a
        table at 2,000 players behind nginx: bench/README.md, fifteenth session).
        """
        if self.seat is None:
            return
        data = await roommates_shared(self.room_id)
        if data is not None:
            await self.send_frame(services.messages.roommates_frame(data))


    async def seat_superseded(self, event):
        """The seat has more than CONNECTIONS_PER_SEAT connections and this one is the oldest (`seat.superseded`)."""
        await self.close(code=OPENED_ELSEWHERE_CLOSE)

    async def rematch_offer(self, event):
        """Someone made this finished game's rematch (`rematch.offer`): offer it to the seats it names."""
        if self.seat is None or self.seat["seat"] not in event["seats"]:
            return
        await self.send_frame(services.messages.rematch_offer_frame({"room_id": event["room_id"], "from": event["from"]}))

    async def room_closed(self, event):
        """An operator closed the room (`room.closed`): say so, then close with 4410."""
        await self.send_frame(services.messages.room_closed_frame(event["reason"]))
        await self.close(code=ROOM_CLOSED_CLOSE)

# --- Spectators (docs/protocol.md "Spectators") ------------------------------------------------

REORDER_WAIT = 1.0  # seconds a change that came early waits for those before it (docs/protocol.md "Spectators")
NOT_WATCHABLE_CLOSE = 4403
NO_ROOM_CLOSE = 4404
WATCH_REFUSED = frozenset({ClientCmd.CHAT, ClientCmd.GAME_MESSAGE, ClientCmd.LEAVE_REQUEST, ClientCmd.LEAVE,
                           ClientCmd.ADD_COMPUTER, ClientCmd.HELLO, ClientCmd.REMATCH,
                           ClientCmd.JOIN_REMATCH})


def _watch_opened(*, room_id: int, uncounted: int) -> dict:
    """`services.watch_open`, its frames encoded once for every spectator sharing the read."""
    opened = services.watch_open(room_id=room_id, uncounted=uncounted)
    return opened | {"texts": [encode(frame) for frame in opened["frames"]]}


class WatchConsumer(Consumer):
    """A spectator of a room (`/ws/rooms/<room_id>/watch/`, no token).

    Forwards the watch group's messages (each change's public frames, encoded once by the
    services) and costs no query per move: the frames carry the spectator stream's numbers,
    so the only state here is the last number sent.
    """

    metrics_kind = "watch"

    async def __call__(self, scope, receive, send):
        # However the consumer ends — closed, or cancelled by daphne for being slow to close —
        # the room's relay stops handing it changes (a plain call, safe while being cancelled).
        try:
            await super().__call__(scope, receive, send)
        finally:
            if hasattr(self, "room_id"):
                watch_leave(self.room_id, self)

    async def connect(self):
        query = self.scope.get("query_string", b"").split(b"&")
        self.batch = b"batch=1" in query
        self.follow = b"follow=1" in query  # watch the table's rematch when the players make one
        self.limiter = RateLimiter(settings.RATE_LIMIT)
        self.counted = False
        self.resync: asyncio.Task | None = None
        self.roommates: asyncio.Task | None = None
        await self.accept()
        await self._watch(self.scope["url_route"]["kwargs"]["room_id"])

    async def _watch(self, room_id: int, before: tuple[str, ...] = ()) -> None:
        """Watch `room_id` from now on: `before`, its snapshot (WATCHING, or ROOMMATES while it
        waits), then its changes."""
        self.room_id: int = room_id
        self.last = 0  # the last spectator msg_id this connection has (snapshots included)
        self.early: dict[int, list[str]] = {}  # changes that came before those they follow: first msg_id → texts
        self.backlog: list[dict] | None = []  # changes relayed before the snapshot was sent; None once sent
        # Join the process's relay of the room's watch group first, so nothing committed after
        # the snapshot below is missed. (Not the room's group: that one carries the seats'
        # frames, for seats only.)
        await watch_join(room_id, self)
        try:
            # Shared with the spectators of the room asking at once (the count they are shown
            # is the first one's): they come together when a game they watched ends.
            opened = await read_shared(("open", room_id), functools.partial(
                _watch_opened, room_id=room_id, uncounted=spectators_pending(room_id) + 1))
        except services.WatchRefused as refused:
            await self.send_texts(list(before))
            await self.close(code=NO_ROOM_CLOSE if refused.missing else NOT_WATCHABLE_CLOSE)
            return
        spectator_counted(room_id, +1)
        self.counted = True
        self.last = max(self.last, opened["msg_id"])
        async with spectator_turn():  # a table's followers all come at once
            await self.send_texts([*before, *opened["texts"]])
        while self.backlog:  # changes relayed meanwhile, in order (more may come while these are sent)
            await self.watch_frames(self.backlog.pop(0))
        self.backlog = None
        if opened["waiting"]:
            self.roommates = asyncio.create_task(self._push_roommates())

    def _stop_watching(self) -> None:
        """Leave the room watched: uncounted, its tasks stopped, its relay left. Plain calls only."""
        if self.counted:  # first: daphne may cancel a consumer slow to close
            self.counted = False
            spectator_counted(self.room_id, -1)
        for task in (self.roommates, self.resync):
            if task is not None:
                task.cancel()
        self.roommates = self.resync = None
        watch_leave(self.room_id, self)

    async def disconnect(self, code):
        self._stop_watching()

    send_texts = GameConsumer.send_texts
    room_closed = GameConsumer.room_closed  # an operator closed the room: ROOM_CLOSED, then 4410
    send_frame = GameConsumer.send_frame
    _push_roommates = GameConsumer._push_roommates  # ROOMMATES every ROOMMATE_INTERVAL, as to a seat

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = read_frame(text_data, GAME_CMDS, settings.MAX_FRAME_BYTES, self.limiter)
            if message.cmd in WATCH_REFUSED:
                raise ProtocolError(ErrorCode.UNAUTHORIZED, "cmd", "spectators only watch")
            await self.COMMANDS[message.cmd](self, message)
        except ProtocolError as error:
            await self.send_frame(metrics.error_counted(refusal_frame(error, text_data)))
        except DATABASE_DOWN as error:
            logger.warning("the database is unreachable: a watch command refused as UNAVAILABLE (%s)", error)
            await self.send_frame(metrics.error_counted(refusal_frame(ProtocolError(ErrorCode.UNAVAILABLE), text_data)))
        except Exception:
            logger.exception("watch command failed")

    async def get_game_status(self, message: ClientFrame) -> None:
        await self.send_frame(await database_sync_to_async(services.watch_status)(
            room_id=self.room_id, reply_to=message.msg_id))

    async def get_roommates(self, message: ClientFrame) -> None:
        await self.send_frame(await database_sync_to_async(services.roommates_frame)(
            room_id=self.room_id, reply_to=message.msg_id))

    COMMANDS = {ClientCmd.GET_GAME_STATUS: get_game_status, ClientCmd.GET_ROOMMATES: get_roommates}

    # --- group events

    def relayed(self, event: dict) -> bool:
        """Take a change from the process's relay (`game.watchers.WatchRelay`); say whether to forward it now.

        A change that comes while the first snapshot is still being read waits for it.
        """
        if self.backlog is not None:
            self.backlog.append(event)
            return False
        return True

    async def watch_frames(self, event):
        """Forward a change's public frames (`watch.frames`, from the relay) in the stream's order.

        Each process publishes the changes it made after its own commit, so changes made in
        different processes (a move here, a clock's `spectators` event there) can arrive out
        of order. One that comes early waits up to REORDER_WAIT for those before it; then a
        fresh snapshot (WATCHING) takes the place of the missing ones.
        """
        if event["first"] > self.last + 1:
            self.early[event["first"]] = event["texts"]
            if self.resync is None or self.resync.done():
                self.resync = asyncio.create_task(self._resync_later())
            return
        await self._forward(event["first"], event["texts"])
        await self._forward_early()

    async def _forward(self, first: int, texts: list[str]) -> None:
        """Send the frames numbered `first`, `first` + 1, … that this connection does not have yet."""
        skip = self.last - first + 1
        new = texts[skip:] if skip > 0 else texts
        if not new:
            return
        self.last = first + len(texts) - 1
        if self.roommates is not None:
            self.roommates.cancel()
            self.roommates = None
        await self.send_texts(new)

    async def _forward_early(self) -> None:
        """Send the early changes that now follow on; stop waiting once none is left."""
        for first in sorted(self.early):
            if first > self.last + 1:
                return
            await self._forward(first, self.early.pop(first))
        if self.resync is not None and self.resync is not asyncio.current_task():
            self.resync.cancel()
        self.resync = None

    async def _resync_later(self) -> None:
        await asyncio.sleep(REORDER_WAIT)
        try:
            opened = await read_shared(("open", self.room_id), functools.partial(
                _watch_opened, room_id=self.room_id, uncounted=spectators_pending(self.room_id)))
        except services.WatchRefused:
            return  # the room closed: its ROOM_CLOSED is on the way
        if opened["msg_id"] > self.last:
            self.last = opened["msg_id"]
            await self.send_texts(opened["texts"])
        self.early = {first: texts for first, texts in self.early.items() if first + len(texts) - 1 > self.last}
        self.resync = None
        await self._forward_early()
        if self.early and self.resync is None:
            self.resync = asyncio.create_task(self._resync_later())

    async def watch_moved(self, event):
        """The players made a rematch (`watch.moved`): a socket that asked to follow now watches it.

        WATCH_MOVED, then the new room's snapshot and changes, numbered by its own stream. The
        socket stays open, so a table's spectators cost no new handshake at each game.
        """
        if not self.follow or event["room_id"] == self.room_id:
            return
        self._stop_watching()
        moved = services.messages.watch_moved_frame(event["room_id"], event["from"])
        await self._watch(event["room_id"], before=(encode(moved),))  # one message with the snapshot

    async def roommates_text(self, text: str) -> None:
        """Send the waiting room's ROOMMATES, read and encoded once by the relay for the room's spectators.

        Not before the first snapshot: it is read after the change, so it holds it already.
        """
        if self.backlog is None:
            await self.send_texts([text])
