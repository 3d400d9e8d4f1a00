"""A change's frames reach the players' sockets before its spectators' copies are framed.

Under daphne a WebSocket write only buffers: Twisted sends the bytes when the event loop next
finds the socket writable. A seat connection here does the same with `loop.add_writer`, so
the tests see the order in which a real server would put bytes on a player's socket and
start framing the spectators' copies (game/watchers.py `WatchRelay`).
"""

import asyncio
import socket

import pytest
from channels.layers import get_channel_layer

from game import consumers, watchers
from rooms.notify import room_group, watch_group
from tests.game.conftest import settle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


async def _buffered_seat_connection(layer, channel: str, order: list[str]) -> None:
    """Receive one change and write it the way Twisted does: buffered until the socket is writable."""
    await layer.receive(channel)
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    written = loop.create_future()

    def write_buffered() -> None:
        loop.remove_writer(ours)
        ours.send(b"frame")
        order.append("player's frame written")
        written.set_result(None)

    loop.add_writer(ours, write_buffered)
    try:
        await written
    finally:
        ours.close()
        theirs.close()


class Watcher:
    """A spectator connection as the relay sees it: it records when it frames a change."""

    def __init__(self, layer, order: list[str] | None = None):
        self.order = order if order is not None else []
        self.frames: list[int] = []
        self.ready = True
        self.layer = layer

    async def open(self):
        self.channel_name = await self.layer.new_channel()
        return self

    def relayed(self, event) -> bool:
        return self.ready

    async def watch_frames(self, event) -> None:
        self.order.append("spectators' copy framed")
        self.frames.append(event["first"])


async def test_the_relay_frames_a_change_only_after_the_players_woken_with_it_have_written(channel_layers):
    layer = get_channel_layer()
    seat = await layer.new_channel()
    order: list[str] = []
    watcher = await Watcher(layer, order).open()
    await watchers.watch_join(5, watcher)
    await layer.group_add(room_group(5), seat)
    connection = asyncio.create_task(_buffered_seat_connection(layer, seat, order))
    await asyncio.sleep(0.05)  # the seat waits on its channel (a Redis layer subscribes meanwhile)
    # Both woken by one change's one message, as a process's seat and spectator connections are.
    await layer.group_send(room_group(5), {"type": "room.frames", "seats": {},
                                           "watch": {"type": "watch.frames", "texts": [], "first": 1}})
    await asyncio.wait_for(connection, timeout=10)
    while not watcher.frames:
        await asyncio.sleep(0.01)
    watchers.watch_leave(5, watcher)

    assert order == ["player's frame written", "spectators' copy framed"]


async def test_of_the_room_groups_messages_the_relay_passes_on_only_the_spectators(channel_layers):
    """The relay hears every message of the room: a seat's part of a change (a hand, a prompt)
    and the seats' rematch offer never reach a spectator; the change's public part and the
    room's closing do."""
    layer = get_channel_layer()
    watcher = await Watcher(layer).open()
    await watchers.watch_join(9, watcher)
    seat_only = {"texts": ['{"cmd":"PLAYER_STATE","secret":"hand"}'], "begins": False, "leaves": False}
    await layer.group_send(room_group(9), {"type": "room.frames", "seats": {"0": seat_only}})
    await layer.group_send(room_group(9), {"type": "rematch.offer", "room_id": 10, "from": "Ann"})
    await layer.group_send(room_group(9), {"type": "room.frames", "seats": {"0": seat_only},
                                           "watch": {"type": "watch.frames", "texts": [], "first": 4}})
    await layer.group_send(room_group(9), {"type": "room.closed", "reason": "admin"})
    passed_on = await asyncio.wait_for(layer.receive(watcher.channel_name), timeout=10)
    assert passed_on == {"type": "room.closed", "reason": "admin"}  # the first message sent to its channel
    assert watcher.frames == [4]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(watcher.channel_name), timeout=0.3)
    watchers.watch_leave(9, watcher)


async def test_a_process_is_one_member_of_a_watch_group_however_many_watch(channel_layers):
    layer = get_channel_layer()
    watching = [await Watcher(layer).open() for _ in range(20)]
    for watcher in watching:
        await watchers.watch_join(6, watcher)
    for first in (1, 2, 3):
        await layer.group_send(watch_group(6), {"type": "watch.frames", "texts": [], "first": first})
    while any(len(watcher.frames) < 3 for watcher in watching):
        await asyncio.sleep(0.01)
    assert all(watcher.frames == [1, 2, 3] for watcher in watching)
    if channel_layers == "memory":
        assert len(layer.groups[watch_group(6)]) == 1

    relay = watchers._relays[asyncio.get_running_loop()][6]
    for watcher in watching:
        watchers.watch_leave(6, watcher)
    await asyncio.wait_for(asyncio.gather(relay.task, return_exceptions=True), timeout=5)
    assert 6 not in watchers._relays[asyncio.get_running_loop()]
    if channel_layers == "memory":
        assert not layer.groups.get(watch_group(6))  # the last one out took the relay out of the group


async def test_a_spectator_not_yet_shown_its_snapshot_is_passed_over_by_the_relay(channel_layers):
    layer = get_channel_layer()
    early, ready = await Watcher(layer).open(), await Watcher(layer).open()
    early.ready = False
    for watcher in (early, ready):
        await watchers.watch_join(7, watcher)
    await layer.group_send(watch_group(7), {"type": "watch.frames", "texts": [], "first": 1})
    while not ready.frames:
        await asyncio.sleep(0.01)
    assert early.frames == []  # it keeps the change for after its snapshot (WatchConsumer.relayed)
    for watcher in (early, ready):
        watchers.watch_leave(7, watcher)


async def test_a_move_reaches_a_players_socket_before_the_watch_consumer_frames_it(game2, watch, monkeypatch):
    # The mover's connection may take some turns of the loop to finish its own answer's handler,
    # more on a loaded test machine: a longer wait keeps this test about the order, not the timing.
    monkeypatch.setattr(watchers, "SPECTATOR_DELAY", 0.2)
    room_id, seats = game2
    watcher = await watch(room_id)
    await watcher.receive_frame("WATCHING")
    await watcher.receive_frame("GAME_EVENT")  # `spectators {count: 1}`
    await settle(seats)
    order: list[str] = []
    loop = asyncio.get_running_loop()
    sockets: list[socket.socket] = []
    game_send_texts, watch_send_texts = consumers.GameConsumer.send_texts, consumers.WatchConsumer.send_texts

    async def written_like_daphne(self, texts):
        """A seat connection's frames leave when its socket is next writable, as under Twisted."""
        ours, theirs = socket.socketpair()
        sockets.extend((ours, theirs))

        def write_buffered() -> None:
            loop.remove_writer(ours)
            ours.send(b"frame")
            order.append(f"player's frame written (seat {self.seat['seat']})")

        loop.add_writer(ours, write_buffered)
        await game_send_texts(self, texts)

    async def framed(self, texts):
        order.append("spectators' copy framed")
        await watch_send_texts(self, texts)

    monkeypatch.setattr(consumers.GameConsumer, "send_texts", written_like_daphne)
    monkeypatch.setattr(consumers.WatchConsumer, "send_texts", framed)
    try:
        await next(seat for seat in seats if seat.prompt).answer()
        await watcher.receive_frame("GAME_EVENT")
        await settle(seats)
    finally:
        for each in sockets:
            loop.remove_writer(each)
            each.close()

    # Both seats' frames of the move were on their sockets before the spectator's copy was framed.
    assert "spectators' copy framed" in order
    assert order.index("spectators' copy framed") >= len(seats), order


async def test_a_spectator_killed_for_being_slow_to_close_leaves_its_relay(game2, watch):
    room_id, seats = game2
    watcher = await watch(room_id)
    await watcher.receive_frame("WATCHING")
    relays = watchers._relays[asyncio.get_running_loop()]
    relay = relays[room_id]
    assert len(relay.watchers) == 1
    watcher.communicator.future.cancel()  # as daphne kills a consumer: no disconnect handler runs
    await asyncio.gather(watcher.communicator.future, return_exceptions=True)
    watcher.closed = True
    assert room_id not in relays and not relay.watchers
    await asyncio.wait_for(asyncio.gather(relay.task, return_exceptions=True), timeout=5)


async def test_the_relay_lets_the_loop_write_and_serve_players_between_chunks_of_spectators(channel_layers):
    layer = get_channel_layer()
    order: list[str] = []
    crowd = [await Watcher(layer, order).open() for _ in range(2 * watchers.SPECTATOR_CHUNK + 1)]
    for watcher in crowd:
        await watchers.watch_join(8, watcher)
    loop = asyncio.get_running_loop()
    first_framed = crowd[0].watch_frames

    async def framed_then_a_player_is_ready(event) -> None:
        await first_framed(event)
        loop.call_soon(order.append, "player served")  # an answer that became ready meanwhile

    crowd[0].watch_frames = framed_then_a_player_is_ready
    await layer.group_send(watch_group(8), {"type": "watch.frames", "texts": [], "first": 1})
    while not crowd[-1].frames:
        await asyncio.sleep(0.01)
    for watcher in crowd:
        watchers.watch_leave(8, watcher)

    served = order.index("player served")
    assert served == watchers.SPECTATOR_CHUNK  # after the first chunk, before the rest
    assert len(order) == len(crowd) + 1
