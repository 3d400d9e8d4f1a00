"""The lobby listing of one process: heard once, built once and encoded once per change.

The publisher, not each lobby connection, is the lobby group's member in this process: a
change costs one group message per process, one listing query (at most one per
ROOMS_CHANGED_MIN_GAP, docs/protocol.md "at most 5 a second") and one JSON encoding, and the same
text goes to every lobby connection registered here (docs/architecture.md "Cost follows changes").
"""

from __future__ import annotations

import asyncio
import logging
import math

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from lobby_site.wire import ClientCmd, ServerCmd, encode, frame
from rooms import services
from rooms.notify import LOBBY_GROUP

logger = logging.getLogger(__name__)

ROOMS_CHANGED_MIN_GAP = 0.2  # seconds: at most 5 ROOMS_CHANGED a second (docs/protocol.md)
LIVE_GAMES_MIN_GAP = 1.0  # seconds: at most one LIVE_GAMES_CHANGED a second (docs/protocol.md "Spectators")
# How long a push waits after the change it heard before reading (see `ListingPublisher._settle`).
LOBBY_SETTLE = 0.02  # seconds


def live_games() -> dict:
    """Return what LIVE_GAMES_REP and LIVE_GAMES_CHANGED carry: the watchable games being played.

    At most ROOMS_LISTED, the most watched first, then the oldest; two queries.
    """
    from django.conf import settings

    from rooms.models import Room

    live = Room.objects.filter(status__in=(Room.Status.PLAYING, Room.Status.PAUSED), watchable=True)
    rooms = list(live.order_by("-spectators", "created", "id")[:settings.ROOMS_LISTED])
    names = services.player_names_by_room([room.pk for room in rooms])
    return {"games": [{"room_id": room.pk, "name": room.name, "players": names[room.pk],
                       "spectators": room.spectators} for room in rooms], "total": live.count()}


def live_games_frame(cmd: ServerCmd, games: dict, reply_to: int | None = None) -> dict:
    total = games["total"]
    text = f"{total} game{'s are' if total != 1 else ' is'} being played: watch one." if total else "No game to watch."
    return frame(cmd, text, data=games, reply_to=reply_to)


def listing_frame(cmd: ServerCmd, listing: dict, reply_to: int | None = None, search: str = "") -> dict:
    """Build `GET_ROOMS_REP` or `ROOMS_CHANGED`: the prompt and next_cmd follow the totals."""
    rooms, drafts = listing["open_total"], listing["drafts_total"]
    if rooms:
        next_cmd = ClientCmd.JOIN_ROOM
        text = f"{rooms} room{'s are' if rooms > 1 else ' is'} open: join one, or create your own."
    elif drafts:
        next_cmd = ClientCmd.WAIT_FOR_DRAFT
        text = "No room is open yet."
    else:
        next_cmd = ClientCmd.CREATE_A_ROOM
        text = "No room is open: create one."
    if search:
        text += f" Listed: those whose name holds \"{search}\"."
    if drafts:
        being = "A room is" if drafts == 1 else f"{drafts} rooms are"
        text += f" {being} being created: wait for it, or create your own."
    return frame(cmd, text, data=listing, next_cmd=next_cmd, reply_to=reply_to)


class ListingPublisher:
    """Push ROOMS_CHANGED to the lobby connections of this process, built once per change.

    Connections `join` once accepted and `leave` when they end; the publisher listens to the
    lobby group while any connection is joined.
    """

    def __init__(self):
        self.consumers: set = set()
        self.builds = 0  # listings built (read by the tests and bench/lobby.py)
        self.encoded = 0  # ROOMS_CHANGED frames encoded
        self._forget()

    def _forget(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.lock: asyncio.Lock | None = None
        self.layer = None
        self.channel: str | None = None
        self.listener: asyncio.Task | None = None
        self.pusher: asyncio.Task | None = None
        self.heard = 0  # lobby group events heard
        self.pushed = 0  # the count of events heard that the last ROOMS_CHANGED reflects
        self.pushed_at = -math.inf
        self.latest: tuple[int, int, dict] | None = None  # (heard, generation, listing) of the last build
        self.live_heard = self.live_pushed = 0  # games begun or ended heard; and reflected by the last push
        self.live_pushed_at = -math.inf
        self.live_pusher: asyncio.Task | None = None

    async def join(self, consumer) -> None:
        """Register an accepted lobby connection; it hears every change committed from now on."""
        loop = asyncio.get_running_loop()
        if self.loop is not loop:  # a new event loop (tests run one per test): start afresh
            self._forget()
            self.loop, self.lock = loop, asyncio.Lock()
        async with self.lock:
            self.consumers.add(consumer)
            if self.channel is None:
                self.layer = get_channel_layer()
                self.channel = await self.layer.new_channel()
                await self.layer.group_add(LOBBY_GROUP, self.channel)
                self.listener = asyncio.create_task(self._listen())

    async def leave(self, consumer) -> None:
        """Unregister a lobby connection; the last one out stops the listening."""
        if self.loop is not asyncio.get_running_loop():
            return
        async with self.lock:
            self.consumers.discard(consumer)
            if self.consumers or self.channel is None:
                return
            tasks = [task for task in (self.listener, self.pusher, self.live_pusher) if task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
            # Cancelling the receive unsubscribed the channel (pub/sub layer); leave the group too.
            await self.layer.group_discard(LOBBY_GROUP, self.channel)
            self.channel = self.listener = self.pusher = self.latest = self.live_pusher = None

    async def listing(self) -> dict:
        """Return the unfiltered listing for a GET_ROOMS: the last one built, if nothing changed since."""
        if self.latest is not None and self.channel is not None:
            heard, generation, listing = self.latest
            if heard == self.heard and generation == services.lobby_generation():
                return listing
        return await self._build()

    async def _build(self) -> dict:
        # Counted before the query starts: a change heard or made during it makes it stale.
        heard, generation = self.heard, services.lobby_generation()
        listing = await database_sync_to_async(services.lobby_listing)()
        self.builds += 1
        if self.channel is not None:
            self.latest = (heard, generation, listing)
        return listing

    async def _listen(self) -> None:
        while True:
            event = await self.layer.receive(self.channel)
            if event.get("type") == "live.changed":
                self.live_heard += 1
                if self.live_pusher is None or self.live_pusher.done():
                    self.live_pusher = asyncio.create_task(self._push_live())
                continue
            if event.get("type") != "rooms.changed":
                continue
            self.heard += 1
            if self.pusher is None or self.pusher.done():
                self.pusher = asyncio.create_task(self._push())

    @staticmethod
    async def _settle(not_before: float) -> None:
        """Wait LOBBY_SETTLE, and until the loop's clock reaches `not_before` (the pushes' gap).

        Why wait at all: the change a push reads was just committed by a move or a seat taken,
        whose players' frames are still being sent. A read at once ran on the ORM thread beside
        those sends and held the interpreter lock they needed. Traced with a lobby listening
        (bench/README.md, twelfth session): a game's final move (the game ends, so
        LIVE_GAMES_CHANGED) took over 5 ms in 11 of 24 games, other moves in 9 of 520. People
        in the lobby do not see 20 ms.
        """
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(LOBBY_SETTLE, not_before - loop.time()))

    async def _push(self) -> None:
        """Send ROOMS_CHANGED until no change heard is left unsent, at most one per ROOMS_CHANGED_MIN_GAP."""
        loop = asyncio.get_running_loop()
        while self.heard > self.pushed:
            await self._settle(self.pushed_at + ROOMS_CHANGED_MIN_GAP)
            heard = self.heard
            try:
                listing = await self._build()
            except Exception:
                logger.exception("lobby listing failed")
                return
            self.pushed, self.pushed_at = heard, loop.time()
            text = encode(listing_frame(ServerCmd.ROOMS_CHANGED, listing))
            self.encoded += 1
            for consumer in list(self.consumers):
                try:
                    await consumer.send(text_data=text)
                except Exception:  # a connection closing meanwhile; its leave() follows
                    logger.debug("ROOMS_CHANGED not sent", exc_info=True)

    async def _push_live(self) -> None:
        """Send LIVE_GAMES_CHANGED while begun or ended games are unsent, at most one per LIVE_GAMES_MIN_GAP."""
        loop = asyncio.get_running_loop()
        while self.live_heard > self.live_pushed:
            await self._settle(self.live_pushed_at + LIVE_GAMES_MIN_GAP)
            heard = self.live_heard
            try:
                games = await database_sync_to_async(live_games)()
            except Exception:
                logger.exception("live games listing failed")
                return
            self.live_pushed, self.live_pushed_at = heard, loop.time()
            text = encode(live_games_frame(ServerCmd.LIVE_GAMES_CHANGED, games))
            for consumer in list(self.consumers):
                try:
                    await consumer.send(text_data=text)
                except Exception:
                    logger.debug("LIVE_GAMES_CHANGED not sent", exc_info=True)


listing_publisher = ListingPublisher()

