"""Changes noted on an event loop with plain calls and written by one task, in batches.

Consumers note that something happened (a connection opened, a spectator came) with a
plain, synchronous call: no database write on the socket's path, and safe in a `finally`
even while daphne cancels a consumer that is slow to close. One task per event loop and
kind writes whatever has gathered meanwhile in one service call, so a storm of such notes
costs a few batched writes on the process's ORM thread instead of one write each.

A subclass says what a batch is (`take`, `put_back`, `empty`) and how it is written
(`write`); `of_this_loop()` returns the loop's one instance, started on first use.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from abc import ABC, abstractmethod

logger = logging.getLogger(__name__)

RETRY_DELAY = 1.0  # seconds before a failed batch is written again


class LoopBatch(ABC):
    """The notes of one event loop not yet written, and the task that writes them."""

    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopBatch]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._by_loop = weakref.WeakKeyDictionary()  # one registry per kind of batch

    def __init__(self):
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()  # set while nothing is waiting to be written
        self.idle.set()
        self.task = asyncio.get_running_loop().create_task(self._run(), name=type(self).__name__)

    @classmethod
    def of_this_loop(cls):
        """Return the running loop's instance, starting it if it has none (or its task ended)."""
        loop = asyncio.get_running_loop()
        batch = cls._by_loop.get(loop)
        if batch is None or batch.task.done():
            batch = cls._by_loop[loop] = cls()
        return batch

    @classmethod
    def existing(cls):
        """Return the running loop's instance if it has one, else None (reads that must not start one)."""
        return cls._by_loop.get(asyncio.get_running_loop())

    @classmethod
    async def written(cls) -> None:
        """Wait until everything noted on this loop is written (tests, shutdown)."""
        batch = cls.existing()
        if batch is not None:
            await batch.idle.wait()

    def noted(self) -> None:
        """Call after recording a note: the task writes it soon."""
        self.idle.clear()
        self.wake.set()

    # What a subclass defines.
    @abstractmethod
    def take(self):
        """Return the notes gathered so far, and start gathering afresh."""

    @abstractmethod
    def put_back(self, batch) -> None:
        """Return a batch that could not be written to the notes (newer notes win)."""

    @abstractmethod
    def empty(self) -> bool:
        """Say whether no note waits to be written."""

    @abstractmethod
    async def write(self, batch) -> None:
        """Write one batch (raise to have it kept and written again later)."""

    async def _run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch = self.take()
            try:
                await self.write(batch)
            except Exception:
                # The database is away: keep the batch and try again.
                logger.exception("writing %s failed; retrying", type(self).__name__)
                self.put_back(batch)
                await asyncio.sleep(RETRY_DELAY)
                self.wake.set()
                continue
            if self.empty():
                self.idle.set()
