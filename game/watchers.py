"""Each process's spectator counter (docs/protocol.md "Spectators and replays", Count).

A watch socket that opens or ends notes it with a plain, synchronous call; one task per event
loop writes the changes gathered meanwhile in one transaction (`game.services.spectators_apply`).
So the spectators of a game that ends, all moving to the next at once, cost a few batched
writes on the process's one ORM thread instead of one write transaction each, ahead of every
move of every game of the process.
"""

from __future__ import annotations

from collections import Counter

from channels.db import database_sync_to_async

from lobby_site.batches import LoopBatch


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
