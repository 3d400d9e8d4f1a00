"""Each process's spectator counter (docs/protocol.md "Spectators and replays", Count).

A watch socket that opens or ends notes it with a plain, synchronous call; one task per event
loop writes the changes gathered meanwhile in one transaction (`game.services.spectators_apply`).
So the spectators of a game that ends, all moving to the next at once, cost a few batched
writes on the process's one ORM thread instead of one write transaction each, ahead of every
move of every game of the process.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from channels.db import database_sync_to_async

from lobby_site.batches import LoopBatch
from lobby_site.consumers import game_service

T = TypeVar("T")


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


async def _read_for_all(reads: dict, key: tuple, shared: _SharedRead, read: Callable[[], T]) -> None:
    def started_then_read() -> T:
        shared.start()  # from here on, a caller needs a read of its own
        return read()

    try:
        shared.result.set_result(await game_service(started_then_read)())
    except asyncio.CancelledError:
        shared.result.cancel()
        raise
    except Exception as error:
        shared.result.set_exception(error)
    finally:
        if reads.get(key) is shared:
            del reads[key]
