"""Each process's spectator counter (docs/protocol.md "Spectators and replays", Count).

A watch socket that opens or ends notes it with a plain, synchronous call; one task per event
loop writes the changes gathered meanwhile in one transaction (`game.services.spectators_apply`).
So the spectators of a game that ends, all moving to the next at once, cost a few batched
writes on the process's one ORM thread instead of one write transaction each, ahead of every
move of every game of the process.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import Counter

from channels.db import database_sync_to_async

logger = logging.getLogger(__name__)

RETRY_DELAY = 1.0  # seconds before a failed batch is written again


class SpectatorCounter:
    """The spectator count changes of one event loop that are not yet written, by room."""

    def __init__(self):
        self.pending: Counter[int] = Counter()
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task = asyncio.get_running_loop().create_task(self._run(), name="spectator-counter")

    def add(self, room_id: int, step: int) -> None:
        self.pending[room_id] += step
        self.idle.clear()
        self.wake.set()

    async def _run(self) -> None:
        from game import services

        while True:
            await self.wake.wait()
            self.wake.clear()
            changes, self.pending = {room: step for room, step in self.pending.items() if step}, Counter()
            try:
                if changes:
                    await database_sync_to_async(services.spectators_apply)(changes=changes)
            except Exception:
                # The database is away: keep the changes and try again.
                logger.exception("writing spectator counts failed; retrying")
                self.pending.update(changes)
                await asyncio.sleep(RETRY_DELAY)
                self.wake.set()
                continue
            if not self.pending:
                self.idle.set()


_counters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SpectatorCounter] = weakref.WeakKeyDictionary()


def _counter() -> SpectatorCounter:
    loop = asyncio.get_running_loop()
    counter = _counters.get(loop)
    if counter is None or counter.task.done():
        counter = _counters[loop] = SpectatorCounter()
    return counter


def spectator_counted(room_id: int, step: int) -> None:
    """Note that a spectator of `room_id` came (+1) or went (-1); written soon, in a batch."""
    _counter().add(room_id, step)


def spectators_pending(room_id: int) -> int:
    """Return this loop's change to `room_id`'s count that is not yet written."""
    counter = _counters.get(asyncio.get_running_loop())
    return counter.pending[room_id] if counter is not None else 0


async def spectators_written() -> None:
    """Wait until every count change noted on this loop is written (tests, shutdown)."""
    counter = _counters.get(asyncio.get_running_loop())
    if counter is not None:
        await counter.idle.wait()
