"""Each process's presence writer (docs/architecture.md "Presence").

Consumers say that a game connection opened or ended with a plain, synchronous call — no
database write on the socket's path, and safe in a `finally` even while the consumer is
being cancelled (daphne kills consumers that are slow to close). One task per event loop
writes what has gathered in one transaction (`rooms.services.connections_apply`), so a
storm of reconnections costs a few batched writes, not one write per socket.
"""

from __future__ import annotations

from channels.db import database_sync_to_async

from lobby_site.batches import LoopBatch
from rooms import services


class PresenceWriter(LoopBatch):
    """The connections of one event loop that opened or ended and are not yet written."""

    def __init__(self):
        self.opened: dict[str, int] = {}  # channel name → player id
        self.closed: list[str] = []
        super().__init__()

    def open(self, channel_name: str, player_id: int) -> None:
        self.opened[channel_name] = player_id
        self.noted()

    def close(self, channel_name: str) -> None:
        if self.opened.pop(channel_name, None) is None:  # opened and closed before any write: nothing to do
            self.closed.append(channel_name)
        self.noted()

    def take(self) -> tuple[list[tuple[str, int]], list[str]]:
        batch = (list(self.opened.items()), self.closed)
        self.opened, self.closed = {}, []
        return batch

    def put_back(self, batch) -> None:
        opened, closed = batch
        self.opened = dict(opened) | self.opened  # newer news of a channel wins
        self.closed = closed + self.closed

    def empty(self) -> bool:
        return not self.opened and not self.closed

    async def write(self, batch) -> None:
        opened, closed = batch
        await database_sync_to_async(services.connections_apply)(opened=opened, closed=closed)


def connection_opened(channel_name: str, player_id: int) -> None:
    """Note that a game connection of `player_id` opened (written soon, in a batch)."""
    PresenceWriter.of_this_loop().open(channel_name, player_id)


def connection_ended(channel_name: str) -> None:
    """Note that a connection ended, however it ended (written soon, in a batch)."""
    PresenceWriter.of_this_loop().close(channel_name)


async def presence_written() -> None:
    """Wait until everything noted on this loop is written (tests, shutdown)."""
    await PresenceWriter.written()
