"""Each process's presence writer (docs/architecture.md "Presence").

Consumers say that a game connection opened or ended with a plain, synchronous call — no
database write on the socket's path, and safe in a `finally` even while the consumer is
being cancelled (daphne kills consumers that are slow to close). One task per event loop
writes what has gathered in one transaction (`rooms.services.connections_apply`), so a
storm of reconnections costs a few batched writes, not one write per socket.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async

from rooms import services

logger = logging.getLogger(__name__)

RETRY_DELAY = 1.0  # seconds before a failed batch is written again


class PresenceWriter:
    """The connections of one event loop that opened or ended and are not yet written."""

    def __init__(self):
        self.opened: dict[str, int] = {}  # channel name → player id
        self.closed: list[str] = []
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task = asyncio.get_running_loop().create_task(self._run(), name="presence-writer")

    def open(self, channel_name: str, player_id: int) -> None:
        self.opened[channel_name] = player_id
        self._nudge()

    def close(self, channel_name: str) -> None:
        if self.opened.pop(channel_name, None) is None:  # opened and closed before any write: nothing to do
            self.closed.append(channel_name)
        self._nudge()

    def _nudge(self) -> None:
        self.idle.clear()
        self.wake.set()

    async def _run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            opened, closed = list(self.opened.items()), self.closed
            self.opened, self.closed = {}, []
            try:
                await database_sync_to_async(services.connections_apply)(opened=opened, closed=closed)
            except Exception:
                # The database is away: keep the batch (newer news of a channel wins) and try again.
                logger.exception("writing presence failed; retrying")
                self.opened = dict(opened) | self.opened
                self.closed = closed + self.closed
                await asyncio.sleep(RETRY_DELAY)
                self.wake.set()
                continue
            if not self.opened and not self.closed:
                self.idle.set()


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PresenceWriter] = weakref.WeakKeyDictionary()


def _writer() -> PresenceWriter:
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None or writer.task.done():
        writer = _writers[loop] = PresenceWriter()
    return writer


def connection_opened(channel_name: str, player_id: int) -> None:
    """Note that a game connection of `player_id` opened (written soon, in a batch)."""
    _writer().open(channel_name, player_id)


def connection_ended(channel_name: str) -> None:
    """Note that a connection ended, however it ended (written soon, in a batch)."""
    _writer().close(channel_name)


async def presence_written() -> None:
    """Wait until everything noted on this loop is written (tests, shutdown)."""
    writer = _writers.get(asyncio.get_running_loop())
    if writer is not None:
        await writer.idle.wait()
