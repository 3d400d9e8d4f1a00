"""LobbyConsumer: the lobby protocol on /ws/lobby/ (docs/protocol.md "Lobby").

Thin: each client command is parsed with lobby_site.wire, handled by one service call, and
answered with what it returns. Group events (`draft.resolved`, `draft.cancelled`) map to
the handler methods of the same names; `ROOMS_CHANGED` comes from rooms.listing's publisher.
"""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from lobby_site.consumers import DATABASE_DOWN, Consumer
from django.conf import settings

from lobby_site.wire import (LOBBY_CMDS, ClientCmd, ClientFrame, ErrorCode, ProtocolError, RateLimiter,
                           ServerCmd, clean_create_room, clean_draft_id, clean_join_room, clean_search, encode,
                           error_frame, frame, parse_frame, reply_id)
from rooms import services
from rooms.clock import ensure_clock_running
from rooms.listing import listing_frame, listing_publisher, live_games, live_games_frame
from rooms.presence import connection_ended
from lobby_site import metrics
from lobby_site.security import client_address

logger = logging.getLogger(__name__)


# --- Frames ----------------------------------------------------------------------------------


def draft_resolved_frame(draft_id: int, room: dict) -> dict:
    return frame(ServerCmd.DRAFT_RESOLVED, f"The room you waited for, \"{room['name']}\", is ready: join it.",
                 data={"draft_id": draft_id, "room": room}, next_cmd=ClientCmd.JOIN_ROOM)


def draft_cancelled_frame(draft_id: int, reply_to: int | None = None) -> dict:
    return frame(ServerCmd.DRAFT_CANCELLED, "That room will not be created: create your own.",
                 data={"draft_id": draft_id}, next_cmd=ClientCmd.CREATE_A_ROOM, reply_to=reply_to)


# --- Consumer --------------------------------------------------------------------------------


class LobbyConsumer(Consumer):
    metrics_kind = "lobby"
    # A lobby socket hears from the channel layer only about drafts it started or waits for
    # (ROOMS_CHANGED comes from the process's publisher), so it has a channel only from then.
    channel_on_demand = True

    async def __call__(self, scope, receive, send):
        # However the consumer ends — closed, or cancelled by daphne for being slow to
        # close — the drafts it opened end with it (a plain call, safe while being cancelled).
        try:
            await super().__call__(scope, receive, send)
        finally:
            if getattr(self, "drafted", False):
                connection_ended(self.channel_name)

    async def connect(self):
        self.limiter = RateLimiter(settings.RATE_LIMIT)
        self.own_draft: int | None = None  # the open draft this connection started
        self.waiting: set[int] = set()  # drafts this connection waits for
        # Whether this connection ever opened a draft: only then does its end touch the
        # database (its drafts end with it). An idle lobby socket costs no write at all.
        self.drafted = False
        # Rooms and drafts are limited per address (docs/protocol.md "Limits per address").
        # (A peer that is not an IP address, e.g. a Unix socket path, is cut to the column's size.)
        self.address = (client_address(self.scope) or "")[:45] or None
        await self.accept()
        await listing_publisher.join(self)  # ROOMS_CHANGED comes from the process's publisher
        ensure_clock_running()

    async def disconnect(self, code):
        if self.drafted:
            self.drafted = False
            connection_ended(self.channel_name)  # its drafts end (docs/protocol.md "Drafts")
        await listing_publisher.leave(self)
        for draft_id in {*self.waiting, *([self.own_draft] if self.own_draft else [])}:
            await self.channel_layer.group_discard(services.draft_group(draft_id), self.channel_name)

    async def send_frame(self, message: dict) -> None:
        await self.send(text_data=encode(message))

    # --- client commands

    async def receive(self, text_data=None, bytes_data=None):
        # Every frame counts against the rate, but frame errors are reported first.
        allowed = self.limiter.allow()
        try:
            message = parse_frame(text_data, LOBBY_CMDS, settings.MAX_FRAME_BYTES)
            if not allowed:
                raise ProtocolError(ErrorCode.RATE_LIMITED)
            await self.COMMANDS[message.cmd](self, message)
        except ProtocolError as error:
            reply_to = None if error.code == ErrorCode.TOO_LARGE else reply_id(text_data)
            await self.send_frame(metrics.error_counted(error_frame(error, reply_to)))
        except DATABASE_DOWN as error:
            logger.warning("the database is unreachable: a lobby command refused as UNAVAILABLE (%s)", error)
            await self.send_frame(metrics.error_counted(error_frame(ErrorCode.UNAVAILABLE, reply_id(text_data))))
        except Exception:
            # Nothing a client sends may take the connection down; the cause goes to the log.
            logger.exception("lobby command failed")

    async def get_rooms(self, message: ClientFrame) -> None:
        search = clean_search(message.payload)
        if search:
            listing = await database_sync_to_async(services.lobby_listing)(search=search)
        else:
            listing = await listing_publisher.listing()  # shared, and reused until the next change
        await self.send_frame(listing_frame(ServerCmd.GET_ROOMS_REP, listing, message.msg_id, search))

    async def start_room_draft(self, message: ClientFrame) -> None:
        channel = await self.channel_needed()
        self.drafted = True
        draft = await database_sync_to_async(services.draft_start)(channel_name=channel, address=self.address)
        self.own_draft = draft["draft_id"]
        await self.channel_layer.group_add(services.draft_group(self.own_draft), self.channel_name)
        await self.send_frame(frame(ServerCmd.DRAFT_STARTED, "You are creating a room: others see it coming.",
                                    data=draft, next_cmd=ClientCmd.CREATE_A_ROOM, reply_to=message.msg_id))

    async def cancel_room_draft(self, message: ClientFrame) -> None:
        draft_id = clean_draft_id(message.payload)
        await database_sync_to_async(services.draft_cancel)(draft_id=draft_id, channel_name=self.channel_name)
        await self._forget_draft(draft_id)
        await self.send_frame(draft_cancelled_frame(draft_id, message.msg_id))

    async def wait_for_draft(self, message: ClientFrame) -> None:
        draft_id = clean_draft_id(message.payload)
        # Join the group before reading, so an ending committed after the read still arrives.
        channel = await self.channel_needed()
        self.waiting.add(draft_id)
        await self.channel_layer.group_add(services.draft_group(draft_id), channel)
        try:
            draft = await database_sync_to_async(services.draft_wait)(draft_id=draft_id)
        except ProtocolError:
            await self._forget_draft(draft_id)
            raise
        await self.send_frame(frame(ServerCmd.WAITING_FOR_DRAFT, "You will hear when that room exists.",
                                    data={"draft_id": draft_id}, reply_to=message.msg_id))
        if draft["status"] == "resolved":
            await self.draft_resolved({"draft_id": draft_id, "room": draft["room"]})
        elif draft["status"] == "cancelled":
            await self.draft_cancelled({"draft_id": draft_id})

    async def create_a_room(self, message: ClientFrame) -> None:
        fields = clean_create_room(message.payload)
        room, player = await database_sync_to_async(services.room_create)(**fields, channel_name=self.channel_name,
                                                                          address=self.address)
        if self.own_draft is not None:
            await self._forget_draft(self.own_draft)
        await self.send_frame(frame(ServerCmd.CREATE_A_ROOM_REP, f"Room \"{room['name']}\" is yours: go to it.",
                                    data={"room": room, "player": player}, reply_to=message.msg_id))

    async def join_room(self, message: ClientFrame) -> None:
        fields = clean_join_room(message.payload)
        room, player = await database_sync_to_async(services.room_join)(**fields)
        await self.send_frame(frame(ServerCmd.JOIN_ROOM_REP, f"You sit in seat {player['seat']} of \"{room['name']}\".",
                                    data={"room": room, "player": player}, reply_to=message.msg_id))

    async def get_live_games(self, message: ClientFrame) -> None:
        games = await database_sync_to_async(live_games)()
        await self.send_frame(live_games_frame(ServerCmd.LIVE_GAMES_REP, games, message.msg_id))

    COMMANDS = {
        ClientCmd.GET_LIVE_GAMES: get_live_games,
        ClientCmd.GET_ROOMS: get_rooms,
        ClientCmd.START_ROOM_DRAFT: start_room_draft,
        ClientCmd.CANCEL_ROOM_DRAFT: cancel_room_draft,
        ClientCmd.WAIT_FOR_DRAFT: wait_for_draft,
        ClientCmd.CREATE_A_ROOM: create_a_room,
        ClientCmd.JOIN_ROOM: join_room,
    }

    async def _forget_draft(self, draft_id: int) -> None:
        self.waiting.discard(draft_id)
        if self.own_draft == draft_id:
            self.own_draft = None
        await self.channel_layer.group_discard(services.draft_group(draft_id), self.channel_name)

    # --- group events

    async def draft_resolved(self, event):
        if event["draft_id"] not in self.waiting:
            return  # its creator, answered by CREATE_A_ROOM_REP
        await self._forget_draft(event["draft_id"])
        await self.send_frame(draft_resolved_frame(event["draft_id"], event["room"]))

    async def draft_cancelled(self, event):
        draft_id = event["draft_id"]
        if draft_id not in self.waiting and draft_id != self.own_draft:
            return  # already answered by CANCEL_ROOM_DRAFT's reply
        await self._forget_draft(draft_id)
        await self.send_frame(draft_cancelled_frame(draft_id))
