"""A change's frames reach the players' sockets before its spectators' copies are framed.

Under daphne a WebSocket write only buffers: Twisted sends the bytes when the event loop next
finds the socket writable. A seat connection here does the same with `loop.add_writer`, so
the tests see the order in which a real server would put bytes on a player's socket and
start framing the spectators' copies (game/consumers.py `after_players_wrote`).
"""

import asyncio
import socket

import pytest
from channels.layers import get_channel_layer

from game import consumers
from rooms.notify import room_group
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


async def test_waiting_for_the_players_lets_the_writes_woken_with_it_go_first(channel_layers):
    layer = get_channel_layer()
    seat, spectator = await layer.new_channel(), await layer.new_channel()
    order: list[str] = []

    async def spectator_connection() -> None:
        await layer.receive(spectator)
        await consumers.after_players_wrote()
        order.append("spectators' copy framed")

    connections = [asyncio.create_task(_buffered_seat_connection(layer, seat, order)),
                   asyncio.create_task(spectator_connection())]
    await asyncio.sleep(0.05)  # both wait on their channels (a Redis layer subscribes meanwhile)
    # Both woken by one change, as a process's seat and spectator connections are.
    await layer.send(seat, {"type": "room.frames"})
    await layer.send(spectator, {"type": "watch.frames"})
    await asyncio.wait_for(asyncio.gather(*connections), timeout=10)

    assert order == ["player's frame written", "spectators' copy framed"]


async def test_a_spectator_cancelled_while_waiting_leaves_the_others_waiting(channel_layers):
    order: list[int] = []

    async def wait(k: int) -> None:
        await consumers.after_players_wrote()
        order.append(k)

    waits = [asyncio.create_task(wait(k)) for k in range(3)]
    await asyncio.sleep(0)
    waits[0].cancel()
    await asyncio.gather(*waits, return_exceptions=True)

    assert order == [1, 2]


async def test_a_move_reaches_a_players_socket_before_the_watch_consumer_frames_it(game2, watch, monkeypatch):
    # The mover's connection may take some turns of the loop to finish its own answer's handler,
    # more on a loaded test machine: a longer wait keeps this test about the order, not the timing.
    monkeypatch.setattr(consumers, "SPECTATOR_DELAY", 0.2)
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
