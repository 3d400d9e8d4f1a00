"""The threads that run the moves' service calls on PostgreSQL (settings.DB_THREADS), and the hop to them.

Every other service call goes through asgiref's SyncToAsync (`database_sync_to_async`) to the
process's one ORM thread. For a move, that hop was the largest cost on the way to the service
that was not the service's own: about 80 µs of CPU a call against 27 µs here, and every move
makes one (bench/README.md, twenty-second session). What SyncToAsync does that a move needs
is kept:

* the thread knows the event loop that called it (`calling_loop`), to which rooms.notify hands
  the group sends the service queued after its commit;
* a connection that failed or aged out is closed after the call, so the next call opens a new
  one (Django's `close_old_connections`, as `database_sync_to_async` does);
* the call's exception is raised to the caller; a caller cancelled while it waits lets the call
  finish on its thread, and its result is dropped.

What is left out: the copy of the caller's context variables into the thread (no service
reads one) and the executor's futures and locks: a job is one tuple on a `SimpleQueue`, and
its answer one `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading

from django.db import close_old_connections

logger = logging.getLogger(__name__)

_running = threading.local()


def calling_loop() -> asyncio.AbstractEventLoop | None:
    """Return the event loop whose call this thread is running (None outside one)."""
    return getattr(_running, "loop", None)


def _settle(future: asyncio.Future, result, error: BaseException | None) -> None:
    if future.cancelled():
        return  # the caller stopped waiting (its connection closed); the call has still run
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class MoveThreads:
    """`count` threads, each with its own database connection, taking calls in turn from one queue."""

    def __init__(self, count: int, name: str = "move-db"):
        self.count = count
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{k}", daemon=True) for k in range(count)]
        for thread in self._threads:
            thread.start()

    async def call(self, function, /, **kwargs):
        """Run `function(**kwargs)` on one of the threads; return what it returns, or raise what it raises."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((loop, future, function, kwargs))
        return await future

    def on_every_thread(self, function, timeout: float = 60) -> None:
        """Run `function()` once on each thread, from synchronous code, and wait (e.g. to close their connections).

        Each thread holds at a barrier once it has run it, so no thread takes two of them.
        """
        everyone = threading.Barrier(self.count)

        def then_wait():
            function()
            everyone.wait(timeout=timeout)

        done = [concurrent.futures.Future() for _ in range(self.count)]
        for future in done:
            self._jobs.put((None, future, then_wait, {}))
        for future in done:
            future.result(timeout=timeout)

    def _work(self) -> None:
        while True:
            loop, future, function, kwargs = self._jobs.get()
            _running.loop = loop
            result = error = None
            try:
                result = function(**kwargs)
            except BaseException as raised:  # the caller's to handle, as with SyncToAsync
                error = raised
            finally:
                _running.loop = None
                try:
                    close_old_connections()
                except Exception:
                    logger.exception("closing a move thread's failed connection failed")
            if loop is None:  # a synchronous caller (`on_every_thread`)
                if error is None:
                    future.set_result(result)
                else:
                    future.set_exception(error)
            else:
                try:
                    loop.call_soon_threadsafe(_settle, future, result, error)
                except RuntimeError:
                    pass  # the loop has closed: the process is stopping and nobody waits
            # Nothing of this call stays referenced from this frame while the next is awaited
            # (an exception's traceback refers to the frame, a cycle only a collection frees).
            loop = future = function = kwargs = result = error = None
