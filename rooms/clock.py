"""Each server process's clock (docs/architecture.md "Time"): one task that beats the
process's row, ends the connections of processes that stopped beating, and fires due
deadline rows.

Daphne has no lifespan events, so the first consumer that connects starts the clock
(`ensure_clock_running`). Deadlines are claimed with a conditional UPDATE, so however many
processes run a clock, each deadline fires once. Other apps add their own kinds:

    @deadline_handler("away_wait")
    def act_for_away_seat(deadline): ...

A handler runs in a worker thread inside the claiming transaction and gets the `Deadline`
row; it should do its work through one service call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from channels.db import database_sync_to_async
from django.conf import settings

from rooms import presence, services
from rooms.models import Deadline

logger = logging.getLogger(__name__)

DeadlineHandler = Callable[[Deadline], None]
_handlers: dict[str, DeadlineHandler] = {}
_clock: asyncio.Task | None = None
PRUNE_EVERY = 600  # ticks between prunings of old fired deadlines


def deadline_handler(kind: str) -> Callable[[DeadlineHandler], DeadlineHandler]:
    """Register the decorated function as the handler of deadlines of `kind`."""

    def register(handler: DeadlineHandler) -> DeadlineHandler:
        if _handlers.get(kind, handler) is not handler:
            raise ValueError(f"deadline kind {kind!r} already has a handler")
        _handlers[kind] = handler
        return handler

    return register


def handler_for(kind: str) -> DeadlineHandler | None:
    """Return the handler registered for `kind`, if any."""
    return _handlers.get(kind)


def clock_tick() -> int:
    """Beat and sweep dead processes when due, then fire every due deadline; return how many this process fired."""
    services.process_beat(unless_recent=True)
    services.processes_sweep(unless_recent=True)
    fired = 0
    for deadline_id in services.deadlines_due():
        fired += services.deadline_fire(deadline_id=deadline_id, handler_for=handler_for)
    return fired


async def _run(stopping: asyncio.Event) -> None:
    ticks = 0
    while not stopping.is_set():
        try:
            await database_sync_to_async(clock_tick)()
            ticks += 1
            if ticks % PRUNE_EVERY == 0:
                await database_sync_to_async(services.deadlines_prune)()
                await database_sync_to_async(services.processes_prune)()
        except asyncio.CancelledError:
            raise
        except Exception:
            # A database hiccup must not stop the clock: the next tick tries again.
            logger.exception("clock tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=settings.CLOCK_INTERVAL)


def ensure_clock_running() -> None:
    """Start this process's clock on the running event loop unless it already runs there."""
    global _clock
    loop = asyncio.get_running_loop()
    if _clock is None or _clock.done() or _clock.get_loop() is not loop:
        stopping = asyncio.Event()
        _clock = loop.create_task(_run(stopping), name="rooms-clock")
        _clock.stopping = stopping


async def stop_clock() -> None:
    """Write the presence still pending, then stop this process's clock (tests do, before their event loop closes)."""
    global _clock
    for _ in range(3):  # consumers closing now may note their end a moment later
        await asyncio.sleep(0.05)
        try:
            await asyncio.wait_for(presence.presence_written(), timeout=10)
        except TimeoutError:
            logger.warning("presence was still being written when the clock stopped")
    clock, _clock = _clock, None
    if clock is None or clock.done():
        return
    if clock.get_loop() is not asyncio.get_running_loop():
        clock.cancel()
        return
    # Let a tick in progress finish: its database work runs on a thread that a cancel would not stop.
    clock.stopping.set()
    try:
        await asyncio.wait_for(clock, timeout=30)
    except (TimeoutError, asyncio.CancelledError):
        pass


@deadline_handler(services.DRAFT_TIMEOUT_KIND)
def _draft_timeout(deadline: Deadline) -> None:
    services.draft_expire(draft_id=deadline.draft_id)


@deadline_handler(services.SEAT_GRACE_KIND)
def _seat_grace(deadline: Deadline) -> None:
    services.seat_free_if_away(player_id=deadline.player_id)


@deadline_handler(services.REMATCH_OPEN_KIND)
def _rematch_open(deadline: Deadline) -> None:
    services.room_reservation_end(room_id=deadline.room_id)
