"""The game handler (`/ws/rooms/<room_id>/`, docs/protocol.md "Game handler").

Thin: each frame is parsed with `lobby_site.wire`, handled by one service call through
`database_sync_to_async`, and what the service returns is sent. Moves reach every seat
through its group (`seat.<room>.<seat>`) after commit, in whatever process its connections live.
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from lobby_site.consumers import Consumer
from django.conf import settings

from game import services
from game.watchers import spectator_counted, spectators_pending
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
from rooms.clock import ensure_clock_running
from rooms.notify import room_group, seat_group
from rooms.presence import connection_ended, connection_opened

logger = logging.getLogger(__name__)

HELLO_TIMEOUT = 10  # seconds (docs/protocol.md): the first frame must be HELLO by then
UNAUTHORIZED_CLOSE = 4401
LEFT_CLOSE = 1000  # after LEAVE_REP: the seat is no longer this connection's
ROOM_CLOSED_CLOSE = 4410  # docs/protocol.md "Room closed by an operator"


class GameConsumer(Consumer):
    async def __call__(self, scope, receive, send):
        # However the consumer ends — closed, or cancelled by daphne for being slow to
        # close — its connection ends with it (a plain call, safe while being cancelled).
        try:
            await super().__call__(scope, receive, send)
        finally:
            if getattr(self, "seat", None) is not None:
                connection_ended(self.channel_name)

    async def connect(self):
        self.room_id: int = self.scope["url_route"]["kwargs"]["room_id"]
        self.seat: dict | None = None  # {"player_id", "seat", "name"} once HELLO succeeded
        self.hello_seen = False
        self.batch = False  # the client asked for several frames per message (HELLO "batch")
        self.limiter = RateLimiter(settings.RATE_LIMIT)
        self.tasks: dict[str, asyncio.Task] = {}
        await self.accept()
        self.tasks["hello"] = asyncio.create_task(self._hello_deadline())
        ensure_clock_running()

    async def disconnect(self, code):
        for task in self.tasks.values():
            task.cancel()
        if self.seat is None:
            return
        seat, self.seat = self.seat, None
        connection_ended(self.channel_name)
        await self._leave_groups(seat["seat"])

    async def _leave_groups(self, seat: int) -> None:
        await self.channel_layer.group_discard(room_group(self.room_id), self.channel_name)
        await self.channel_layer.group_discard(seat_group(self.room_id, seat), self.channel_name)

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

    async def _refuse(self, error: ProtocolError, raw) -> None:
        """Refuse the handshake: whatever went wrong, the answer is UNAUTHORIZED and close 4401."""
        await self.send_frame(refusal_frame(ProtocolError(ErrorCode.UNAUTHORIZED, error.field, error.detail), raw))
        await self.close(code=UNAUTHORIZED_CLOSE)

    async def _hello(self, text_data) -> None:
        """Authenticate the first frame, join the seat's groups, answer; the connection is recorded in a batch."""
        self.hello_seen = True
        self.tasks.pop("hello").cancel()
        try:
            message = parse_frame(text_data, frozenset({ClientCmd.HELLO}), settings.MAX_FRAME_BYTES)
            seat = await database_sync_to_async(services.seat_authenticate)(
                room_id=self.room_id, token=clean_hello(message.payload, self.room_id))
        except ProtocolError as error:
            await self._refuse(error, text_data)
            return
        self.batch = wants_batches(message.payload)
        # Join the groups first, so nothing committed after the snapshot below is missed.
        await self.channel_layer.group_add(room_group(self.room_id), self.channel_name)
        await self.channel_layer.group_add(seat_group(self.room_id, seat["seat"]), self.channel_name)
        try:
            opened = await database_sync_to_async(services.seat_hello)(
                room_id=self.room_id, player_id=seat["player_id"])
        except ProtocolError as error:  # the seat stopped being this token's (a pause) meanwhile
            await self._leave_groups(seat["seat"])
            await self._refuse(error, text_data)
            return
        except Exception:
            # The client reconnects and says HELLO again; the cause goes to the log.
            logger.exception("opening a game connection failed")
            await self.close(code=1011)
            return
        self.seat = seat
        await self.send_texts([encode(frame) for frame in opened["frames"]])
        connection_opened(self.channel_name, seat["player_id"])
        if opened["waiting"]:
            self.tasks["roommates"] = asyncio.create_task(self._push_roommates())

    async def _push_roommates(self) -> None:
        """Send ROOMMATES every ROOMMATE_INTERVAL until the game begins."""
        while True:
            await asyncio.sleep(settings.ROOMMATE_INTERVAL)
            try:
                data = await database_sync_to_async(services.roommates_data)(room_id=self.room_id)
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
        try:
            message = read_frame(text_data, self.ALLOWED, settings.MAX_FRAME_BYTES, self.limiter)
            await self.COMMANDS[message.cmd](self, message)
        except ProtocolError as error:
            await self.send_frame(refusal_frame(error, text_data))
        except Exception:
            # Nothing a client sends may take the connection down; the cause goes to the log.
            logger.exception("game command failed")

    async def game_message(self, message: ClientFrame) -> None:
        await database_sync_to_async(services.game_answer)(
            room_id=self.room_id, seat=self.seat["seat"], payload=message.payload)

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
    }
    ALLOWED = frozenset(COMMANDS)

    # --- group events

    async def seat_frames(self, event):
        """Deliver a seat's frames (`seat.frames`); GAME_BEGIN ends the roommate pushes, LEAVE_REP the connection."""
        if event["begins"] and "roommates" in self.tasks:
            self.tasks.pop("roommates").cancel()
        await self.send_texts(event["texts"])
        if event["leaves"]:
            await self.close(code=LEFT_CLOSE)

    async def roommates_changed(self, event):
        """Send ROOMMATES to this connection while the room still waits (`roommates.changed`)."""
        if self.seat is None:
            return
        data = await database_sync_to_async(services.roommates_data)(room_id=self.room_id)
        if data is not None:
            await self.send_frame(services.messages.roommates_frame(data))


    async def room_closed(self, event):
        """An operator closed the room (`room.closed`): say so, then close with 4410."""
        await self.send_frame(services.messages.room_closed_frame(event["reason"]))
        await self.close(code=ROOM_CLOSED_CLOSE)

# --- Spectators (docs/protocol.md "Spectators") ------------------------------------------------

REORDER_WAIT = 1.0  # seconds a change that came early waits for those before it (docs/protocol.md "Spectators")
NOT_WATCHABLE_CLOSE = 4403
NO_ROOM_CLOSE = 4404
WATCH_REFUSED = frozenset({ClientCmd.CHAT, ClientCmd.GAME_MESSAGE, ClientCmd.LEAVE_REQUEST, ClientCmd.LEAVE,
                           ClientCmd.ADD_COMPUTER, ClientCmd.HELLO})


class WatchConsumer(Consumer):
    """A spectator of a room (`/ws/rooms/<room_id>/watch/`, no token).

    Forwards the watch group's messages (each change's public frames, encoded once by the
    services) and costs no query per move: the frames carry the spectator stream's numbers,
    so the only state here is the last number sent.
    """

    async def connect(self):
        self.room_id: int = self.scope["url_route"]["kwargs"]["room_id"]
        self.batch = b"batch=1" in self.scope.get("query_string", b"").split(b"&")
        self.limiter = RateLimiter(settings.RATE_LIMIT)
        self.counted = False
        self.last = 0  # the last spectator msg_id this connection has (snapshots included)
        self.early: dict[int, list[str]] = {}  # changes that came before those they follow: first msg_id → texts
        self.resync: asyncio.Task | None = None
        self.roommates: asyncio.Task | None = None
        await self.accept()
        # Join the groups first, so nothing committed after the snapshot below is missed.
        await self.channel_layer.group_add(services.watch_group(self.room_id), self.channel_name)
        await self.channel_layer.group_add(room_group(self.room_id), self.channel_name)
        try:
            opened = await database_sync_to_async(services.watch_open)(
                room_id=self.room_id, uncounted=spectators_pending(self.room_id) + 1)
        except services.WatchRefused as refused:
            await self.close(code=NO_ROOM_CLOSE if refused.missing else NOT_WATCHABLE_CLOSE)
            return
        spectator_counted(self.room_id, +1)
        self.counted = True
        self.last = max(self.last, opened["msg_id"])
        await self.send_texts([encode(frame) for frame in opened["frames"]])
        if opened["waiting"]:
            self.roommates = asyncio.create_task(self._push_roommates())

    async def disconnect(self, code):
        if self.counted:  # first, with a plain call: daphne may cancel a consumer slow to close
            self.counted = False
            spectator_counted(self.room_id, -1)
        for task in (self.roommates, self.resync):
            if task is not None:
                task.cancel()
        await self.channel_layer.group_discard(services.watch_group(self.room_id), self.channel_name)
        await self.channel_layer.group_discard(room_group(self.room_id), self.channel_name)

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
            await self.send_frame(refusal_frame(error, text_data))
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

    async def watch_frames(self, event):
        """Forward a change's public frames (`watch.frames`) in the stream's order.

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
            opened = await database_sync_to_async(services.watch_open)(
                room_id=self.room_id, uncounted=spectators_pending(self.room_id))
        except services.WatchRefused:
            return  # the room closed: its ROOM_CLOSED is on the way
        if opened["msg_id"] > self.last:
            self.last = opened["msg_id"]
            await self.send_texts([encode(frame) for frame in opened["frames"]])
        self.early = {first: texts for first, texts in self.early.items() if first + len(texts) - 1 > self.last}
        self.resync = None
        await self._forward_early()
        if self.early and self.resync is None:
            self.resync = asyncio.create_task(self._resync_later())

    async def roommates_changed(self, event):
        """Send ROOMMATES while the room still waits (`roommates.changed`)."""
        data = await database_sync_to_async(services.roommates_data)(room_id=self.room_id)
        if data is not None:
            await self.send_frame(services.messages.roommates_frame(data))
