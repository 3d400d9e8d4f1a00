"""Group sends that happen only after the transaction commits (Zulip's send_event_on_commit),
so no client ever hears of a change that rolled back.

A service runs on the process's ORM thread. Waiting there for each group send (a Redis
publish) would hold every other database call of the process behind the network, so a
send queued from a service is handed to the event loop that called the service and goes
out from one task per loop, in the order queued. Called with no event loop behind it (a
management command, a test calling a service directly), a send is made at once.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from lobby_site import metrics
from lobby_site.layers import Send
from lobby_site.move_threads import calling_loop

logger = logging.getLogger(__name__)

LOBBY_GROUP = "lobby"


def room_group(room_id: int) -> str:
    """The group of a room's seat connections and of each process's spectator relay for the
    room (`game.watchers.WatchRelay`): every change of the room, one message each."""
    return f"room.{room_id}"


def watch_group(room_id: int) -> str:
    """The group of each process's spectator relay for a room: what is for spectators alone."""
    return f"watch.{room_id}"


def send_to_room_on_commit(room_id: int, message: dict) -> None:
    """Send `message` to everyone in a room — its seats' connections and its spectators — after commit.

    One send: the spectators' relays are in the room group too, and pass on only the messages
    meant for them (`game.watchers.TO_EVERY_SPECTATOR`).
    """
    send_on_commit(room_group(room_id), message)


class _Outbox:
    """One event loop's queue of group sends, sent in order by one task.

    Whatever has queued up while the last sends went out goes out next as one batch (one
    Redis round trip: lobby_site/layers.py `send_many`), so the sends keep up however many
    changes a process commits between two turns of its event loop.
    """

    BATCH = 256  # sends at most in one batch: one bounded write

    def __init__(self):
        self.queue: asyncio.Queue[Send] = asyncio.Queue()
        self.sending = False  # a batch taken from the queue has not gone out yet
        self.task = asyncio.get_running_loop().create_task(self._run(), name="group-sends")

    async def _run(self) -> None:
        layer = get_channel_layer()
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self.sending = True
            try:
                await _send_many(layer, batch)
            except Exception:
                _send_failed(batch)
            finally:
                self.sending = False
            metrics.GROUP_SEND_BATCH.observe(len(batch))


async def _send_many(layer, sends: list[Send]) -> None:
    """Send a batch through the layer's `send_many`; on a layer without one (channels-redis's
    own, chosen with CHANNEL_LAYER_BACKEND), one send at a time, as before batches."""
    send_many = getattr(layer, "send_many", None)
    if send_many is not None:
        await send_many(sends)
        return
    for send in sends:
        name, message, to_channel = send
        try:
            await (layer.send(name, message) if to_channel else layer.group_send(name, message))
        except Exception:
            _send_failed([send])


def _send_failed(sends: list[Send]) -> None:
    # A lost send is recovered by the clients (a msg_id gap, or silence, makes them ask for
    # the game's status); it must not stop the sends after it.
    logger.exception("group sends to %s failed", ", ".join(sorted({name for name, _, _ in sends})))
    metrics.LAYER_SEND_FAILURES.labels("error").inc(len(sends))


_outboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Outbox] = weakref.WeakKeyDictionary()


def _outbox(loop: asyncio.AbstractEventLoop) -> _Outbox:
    """Return the loop's outbox (run on that loop)."""
    outbox = _outboxes.get(loop)
    if outbox is None or outbox.task.done():
        outbox = _outboxes[loop] = _Outbox()
    return outbox


def _enqueue(group: str, message: dict, to_channel: bool = False) -> None:
    _outbox(asyncio.get_running_loop()).queue.put_nowait((group, message, to_channel))


def send_now(group: str, message: dict, *, to_channel: bool = False) -> None:
    """Send `message` to `group` (or, `to_channel`, to the one channel so named) from synchronous code,
    without waiting for it to go out."""
    # The event loop that called the service running in this thread: a move's thread knows
    # it (lobby_site.move_threads), the ORM thread through asgiref's SyncToAsync.
    loop = calling_loop() or getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is not None and loop.is_running():
        loop.call_soon_threadsafe(_enqueue, group, message, to_channel)
        return
    if loop is not None:
        # The process is stopping: its loop ended while this thread finished a service call
        # (the connections its closing sockets ended). Waiting for that loop would hang the
        # exit for good; the clients resync when they reconnect.
        logger.warning("process stopping: group send to %s dropped", group)
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        layer = get_channel_layer()
        try:
            async_to_sync(layer.send if to_channel else layer.group_send)(group, message)
        except Exception:
            metrics.LAYER_SEND_FAILURES.labels("error").inc()
            raise
        return
    _enqueue(group, message, to_channel)


def send_on_commit(group: str, message: dict) -> None:
    """Send `message` (a Channels event: {"type": …}) to `group` once the current transaction commits."""
    transaction.on_commit(lambda: send_now(group, message), robust=True)


def send_to_channel_on_commit(channel_name: str, message: dict) -> None:
    """Send `message` to one connection (its channel name, in any process) once the transaction commits."""
    transaction.on_commit(lambda: send_now(channel_name, message, to_channel=True), robust=True)


async def sends_flushed() -> None:
    """Wait until every group send queued on this loop has gone out (tests, shutdown)."""
    outbox = _outboxes.get(asyncio.get_running_loop())
    while outbox is not None and (outbox.sending or not outbox.queue.empty()):
        await asyncio.sleep(0.005)
