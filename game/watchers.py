"""Each process's spectator counter (docs/protocol.md "Spectators and replays", Count).

A watch socket that opens or ends notes it with a plain, synchronous call; one task per event
loop writes the changes gathered meanwhile in one transaction (`game.services.spectators_apply`).
So the spectators of a game that ends, all moving to the next at once, cost a few batched
writes on the process's one ORM thread instead of one write transaction each, ahead of every
move of every game of the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from lobby_site.batches import LoopBatch
from lobby_site.wire import encode
from rooms.notify import room_group, watch_group

T = TypeVar("T")
logger = logging.getLogger(__name__)


class SpectatorCounter(LoopBatch):
    """The spectator count changes of one event loop that are not yet written, by room."""

    def __init__(self):
        self.pending: Counter[int] = Counter()
        super().__init__()

    def add(self, room_id: int, step: int) -> None:
        self.pending[room_id] += step
        self.noted()

    def take(self) -> dict[int, int]:
        changes, self.pending = {room: step for room, step in self.pending.items() if step}, Counter()
        return changes

    def put_back(self, batch: dict[int, int]) -> None:
        self.pending.update(batch)

    def empty(self) -> bool:
        return not self.pending

    async def write(self, batch: dict[int, int]) -> None:
        from game import services

        if batch:
            await database_sync_to_async(services.spectators_apply)(changes=batch)


def spectator_counted(room_id: int, step: int) -> None:
    """Note that a spectator of `room_id` came (+1) or went (-1); written soon, in a batch."""
    SpectatorCounter.of_this_loop().add(room_id, step)


def spectators_pending(room_id: int) -> int:
    """Return this loop's change to `room_id`'s count that is not yet written."""
    counter = SpectatorCounter.existing()
    return counter.pending[room_id] if counter is not None else 0


async def spectators_written() -> None:
    """Wait until every count change noted on this loop is written (tests, shutdown)."""
    await SpectatorCounter.written()


# --- Reads shared by the spectators who ask at once ----------------------------------------------


class _SharedRead:
    """One read on the database thread that callers may still join until it starts."""

    def __init__(self):
        self.lock = threading.Lock()  # between the event loop (joining) and the database thread (starting)
        self.started = False
        self.result: asyncio.Future = asyncio.get_running_loop().create_future()

    def join(self) -> bool:
        with self.lock:
            return not self.started

    def start(self) -> None:
        with self.lock:
            self.started = True


_shared_reads: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, _SharedRead]] = (
    weakref.WeakKeyDictionary())


async def read_shared(key: tuple, read: Callable[[], T]) -> T:
    """Return `read()` run on the database thread, shared with every caller of the same `key`
    that asked before that read began.

    Why: when a game ends, its spectators all open a socket on another game within a second,
    and each socket's first snapshot was four queries on the process's one database thread,
    queued ahead of every player's move (200 spectators: moves waited 200–500 ms). Now the
    sockets of one room asking together share one read.

    Why a shared snapshot is still complete: a caller joins only a read that has not begun,
    so the read sees everything committed before the caller asked, and the caller joined its
    group (which brings every later change) before asking.
    """
    loop = asyncio.get_running_loop()
    reads = _shared_reads.setdefault(loop, {})
    shared = reads.get(key)
    if shared is None or not shared.join():
        shared = reads[key] = _SharedRead()
        loop.create_task(_read_for_all(reads, key, shared, read))
    return await asyncio.shield(shared.result)  # one caller going away must not cancel the others' read


async def roommates_shared(room_id: int) -> dict | None:
    """The waiting room's ROOMMATES data (None once its game began), one read for the room's
    connections here asking at once: the relay's pushes and every seat's periodic push."""
    from game import services

    return await read_shared(("roommates", room_id), functools.partial(services.roommates_data, room_id=room_id))


async def _read_for_all(reads: dict, key: tuple, shared: _SharedRead, read: Callable[[], T]) -> None:
    def started_then_read() -> T:
        shared.start()  # from here on, a caller needs a read of its own
        return read()

    try:
        shared.result.set_result(await database_sync_to_async(started_then_read)())
    except asyncio.CancelledError:
        shared.result.cancel()
        raise
    except Exception as error:
        shared.result.set_exception(error)
    finally:
        if reads.get(key) is shared:
            del reads[key]


# --- One member of a room's watch group per process ------------------------------------------

# How long a change waits before the spectators' copies are framed (see `WatchRelay`).
SPECTATOR_DELAY = 0.02  # seconds
# How many spectators' copies are framed in one turn of the event loop, and the pause between
# two such turns (see `WatchRelay`).
SPECTATOR_CHUNK = 16
SPECTATOR_PAUSE = 0.001  # seconds
# The longest a chunk of spectators' copies waits for the players' commands in flight (see `_Turns`).
SPECTATOR_YIELD = 0.005  # seconds
# The room's messages each spectator connection handles itself, in its own order (the
# relay sends each to the connection's channel); the rest of the room group's are the seats'.
TO_EVERY_SPECTATOR = frozenset({"room.closed", "watch.moved"})
# How long a waiting room's change waits for the next ones before its spectators get ROOMMATES.
ROOMMATES_SETTLE = 0.25  # seconds
RELAY_RETRY = 1.0  # seconds before a relay whose layer failed receives again


class WatchRelay:
    """This process's one member of a room's watch group and room group: it hands the
    spectators' messages to the room's spectator connections here.

    A move is one group message, to the room group: the seats' parts and the spectators'
    frames together (`game.services._deliver`). With Redis every group send is a publish and
    a round trip on the event loop; a second one per move for the watch group, sent whether
    anyone watched or not, was about as much again (bench/README.md, seventeenth session).
    The watch group carries only what is for spectators alone (a table moved to its rematch).

    Why not one member per spectator: every member costs a channel-layer delivery and a trip
    through its consumer's dispatch per message (a task, a wait, a handler), and a change
    watched by 200 spectators cost 60 ms of the process's event loop, held up the players'
    moves behind it (+6 ms median, p99 ×6) and filled the Redis subscriptions. The relay
    receives a change once and calls each connection's `watch_frames`, which only frames and
    writes the pre-encoded texts; a waiting room's ROOMMATES the same way, read and encoded
    once. Other messages (a room closed, the table moved to its rematch) go to each
    connection's own channel, to be handled in its own order as before.

    A change's copies are framed SPECTATOR_DELAY after it arrives: a WebSocket write under
    daphne only buffers (Twisted sends when the socket is next writable), so framing 200
    copies at once held back the players' frames woken by the same change; after a timer the
    loop has written them, and a spectator, who answers nothing, cannot tell 20 ms.

    The copies are framed SPECTATOR_CHUNK connections at a time, SPECTATOR_PAUSE apart:
    Twisted writes every buffered socket in the turn after, so 200 copies framed at once were
    200 send calls in one turn (10–30 ms on loopback, py-spy), and a player's answer or frame
    that became ready then waited behind all of them. A pause, not `sleep(0)`: asyncio runs
    the I/O callbacks of a turn before the timers then due, but a task woken by `sleep(0)`
    before both, so with `sleep(0)` every chunk went ahead of the players' frames.

    A waiting room's changes settle for up to ROOMMATES_SETTLE before its spectators get one
    ROOMMATES for all of them (`_settled`): a rematch's seats fill within a second, and each
    seat taken was a copy to every spectator (py-spy: the longest stretches of a followed
    table, 74–112 ms).
    """

    def __init__(self, room_id: int):
        self.room_id = room_id
        self.watchers: dict = {}  # connections here, in the order they came (a dict as an ordered set)
        loop = asyncio.get_running_loop()
        self.subscribed: asyncio.Future = loop.create_future()
        self.task = loop.create_task(self._run(), name=f"watch-relay-{room_id}")

    async def _run(self) -> None:
        layer = get_channel_layer()
        groups = (room_group(self.room_id), watch_group(self.room_id))
        channel = await layer.new_channel()
        inbox: asyncio.Queue[dict] = asyncio.Queue()
        receiving = None
        try:
            for group in groups:
                await layer.group_add(group, channel)
            self.subscribed.set_result(None)
            receiving = asyncio.create_task(self._receive(layer, channel, inbox))
            following = None  # a message taken while a waiting room's ROOMMATES settled
            while True:
                message, following = following or await inbox.get(), None
                try:
                    following = await self._relay(layer, message, inbox)
                except Exception:
                    logger.exception("relaying the watch group of room %s failed", self.room_id)
        except Exception as error:
            if not self.subscribed.done():
                self.subscribed.set_exception(error)
            raise
        finally:
            if receiving is not None:
                receiving.cancel()
            if not self.subscribed.done():  # left before it was in the group: nobody waits any more
                self.subscribed.cancel()
            for group in groups:
                await layer.group_discard(group, channel)

    async def _relay(self, layer, message: dict, inbox: asyncio.Queue) -> dict | None:
        """Hand one group message to the spectators here, if it is theirs; return a message taken
        from `inbox` meanwhile, to be relayed next (see `_settled`).

        The room group carries the seats' messages too: of those only a change's public frames
        (`room.frames`' `watch` part) and what is sent to the whole room go on; a seat's part,
        a rematch offer to the seats, anything else stays here. Hence a list of what passes, not
        of what is kept back.
        """
        if message["type"] == "room.frames":
            message = message.get("watch")
            if message is None:  # seats only (a seat's PLAYER_STATE, a change without public frames)
                return None
        if message["type"] == "watch.frames":
            await asyncio.sleep(SPECTATOR_DELAY)  # the players' frames of the change first
            await self._forward(message)
        elif message["type"] == "roommates.changed":
            following = await self._settled(inbox)
            await self._forward_roommates()
            return following
        elif message["type"] in TO_EVERY_SPECTATOR:
            for watcher in list(self.watchers):
                await layer.send(watcher.channel_name, message)
        return None

    async def _receive(self, layer, channel: str, inbox: asyncio.Queue) -> None:
        """Move the group's messages to `inbox`: the relay may then wait for the next one with a
        timeout (`_settled`) without cancelling a channel layer's receive."""
        while True:
            try:
                inbox.put_nowait(await layer.receive(channel))
            except Exception:
                # The layer is away (Redis restarting): a lost change shows as a gap, which the
                # spectators' sockets mend with a snapshot; the relay carries on.
                logger.exception("receiving the watch group of room %s failed", self.room_id)
                await asyncio.sleep(RELAY_RETRY)

    @staticmethod
    async def _settled(inbox: asyncio.Queue) -> dict | None:
        """Wait up to ROOMMATES_SETTLE for the waiting room's next changes to join this one.

        Returns the first message that is not a roommates change (to be handled after the
        ROOMMATES it follows), or None. Why: the seats of a rematch fill within a second, each
        a change, and every change was a copy to each spectator; the game's beginning, which
        follows, makes them moot.
        """
        deadline = asyncio.get_running_loop().time() + ROOMMATES_SETTLE
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                message = await asyncio.wait_for(inbox.get(), left)
            except TimeoutError:
                return None
            if message["type"] != "roommates.changed":
                return message
        return None

    async def _forward(self, message: dict) -> None:
        async def forward(watcher) -> None:
            if watcher.relayed(message):
                await watcher.watch_frames(message)

        await fan_out(self.watchers, forward)

    async def _forward_roommates(self) -> None:
        """ROOMMATES while the room waits (`roommates.changed`): read and encoded once for its spectators here.

        When a table's followers move to its rematch together, each person joining the new room
        is a change; one read and one text per change, not one dispatch, read and encoding per
        spectator (200 spectators: a 150 ms stretch of the event loop as the game began).
        """
        from game import messages

        data = await roommates_shared(self.room_id)
        if data is not None:
            text = encode(messages.roommates_frame(data))
            await fan_out(self.watchers, lambda watcher: watcher.roommates_text(text))


async def fan_out(watchers: dict, send: Callable[[Any], Awaitable[None]]) -> None:
    """Await `send(watcher)` for each connection of `watchers` (a relay's, which may change
    meanwhile), each in a spectator's turn (`spectator_turn`: SPECTATOR_CHUNK sends, then a
    pause of SPECTATOR_PAUSE; see `WatchRelay`)."""
    for watcher in list(watchers):
        if watcher not in watchers:
            continue
        try:
            async with spectator_turn():
                await send(watcher)
        except Exception:
            # One connection's failure (closing as we write) must not cost the others the
            # change; a connection that failed gets no more.
            logger.exception("relaying a change to a spectator failed")
            watchers.pop(watcher, None)


class _Turns:
    """The spectators' turns to send of one event loop (`spectator_turn`), and the players'
    commands in flight there (`player_command`), which the turns make way for.

    Why make way: a player's command is a service call on the ORM thread, and that thread
    needs the interpreter's lock for its Python between database calls. While the loop
    framed a chunk of copies the call waited for the lock, at every one of its database
    calls. With 200 spectators, both tables run at once, the watched table's p99 was 1.23×
    the unwatched one's before this and 1.06× after (bench/README.md, fourteenth session).

    A chunk that finds a command in flight first waits for it to be done, up to
    SPECTATOR_YIELD, and at most once per chunk: under players who never stop, the
    spectators still get SPECTATOR_CHUNK copies every SPECTATOR_YIELD + SPECTATOR_PAUSE.
    """

    def __init__(self):
        self.lock = asyncio.Lock()
        self.taken = 0
        self.made_way = False  # this chunk has waited for the players once already
        self.players_busy = 0
        self.players_done = asyncio.Event()
        self.players_done.set()

    async def __aenter__(self) -> None:
        await self.lock.acquire()
        if self.players_busy and not self.made_way:
            self.made_way = True
            try:
                # Past SPECTATOR_YIELD the chunk goes anyway: spectators must not starve.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.players_done.wait(), SPECTATOR_YIELD)
            except BaseException:  # cancelled while waiting: the turn was never taken
                self.lock.release()
                raise

    async def __aexit__(self, error_type, error, traceback) -> None:
        try:
            if error_type is None:
                self.taken += 1
                if self.taken % SPECTATOR_CHUNK == 0:
                    self.made_way = False
                    await asyncio.sleep(SPECTATOR_PAUSE)  # those still waiting go after the players' frames
        finally:
            self.lock.release()

    def player_began(self) -> None:
        self.players_busy += 1
        self.players_done.clear()

    def player_ended(self) -> None:
        self.players_busy -= 1
        if not self.players_busy:
            self.players_done.set()


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = weakref.WeakKeyDictionary()


def spectator_turn() -> _Turns:
    """A spectator's turn to send, for `async with`: every spectator send of the process
    takes one, SPECTATOR_CHUNK sends and then a pause of SPECTATOR_PAUSE before the next ones.

    The relay's copies of a change take them one after another (`fan_out`). So do what many
    spectators send at once outside the relay: a table's followers all get WATCH_MOVED and the
    rematch's snapshot when the one shared read is done, and sent in the same turn of the loop
    they were 200 writes that the players' frames waited behind. A spectator alone waits for
    nothing.
    """
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = _Turns()
    return turns


class player_command:
    """`async with player_command():` around a seat's command, so that the spectators' copies
    sent meanwhile on this loop make way for it (`_Turns`)."""

    __slots__ = ("turns",)

    async def __aenter__(self) -> None:
        self.turns = spectator_turn()
        self.turns.player_began()

    async def __aexit__(self, error_type, error, traceback) -> None:
        self.turns.player_ended()


_relays: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, WatchRelay]] = weakref.WeakKeyDictionary()


async def watch_join(room_id: int, watcher) -> None:
    """Hand `watcher` (a WatchConsumer) every message of the room's watch group from now on.

    Returns once the process's relay of the room is in the group: what commits afterwards
    reaches the watcher.
    """
    relays = _relays.setdefault(asyncio.get_running_loop(), {})
    relay = relays.get(room_id)
    if relay is None or relay.task.done():
        relay = relays[room_id] = WatchRelay(room_id)
    relay.watchers[watcher] = None
    await asyncio.shield(relay.subscribed)


def watch_leave(room_id: int, watcher) -> None:
    """Stop handing the room's messages to `watcher`; the relay leaves the group with its last watcher.

    A plain call: safe in a consumer's `finally`, even while daphne cancels it.
    """
    relays = _relays.get(asyncio.get_running_loop(), {})
    relay = relays.get(room_id)
    if relay is None:
        return
    relay.watchers.pop(watcher, None)
    if not relay.watchers:
        del relays[room_id]
        relay.task.cancel()
