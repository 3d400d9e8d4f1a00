"""game/watchers.py: what many spectators are sent at once yields to the players in between.

A player's frame that arrives while 200 spectators' copies are being written must not wait
for all of them (issue 11: the players' move latency p99 with 200 spectators within 1.2× of
an unwatched game's).
"""

import asyncio
import socket

from game import watchers
from game.watchers import fan_out, spectator_turn


async def test_a_players_frame_arriving_during_a_fan_out_goes_before_the_next_chunk():
    loop = asyncio.get_running_loop()
    order: list[str] = []
    player_side, server_side = socket.socketpair()
    server_side.setblocking(False)

    def player_frame_received() -> None:
        server_side.recv(100)
        loop.remove_reader(server_side)
        order.append("player")

    loop.add_reader(server_side, player_frame_received)

    async def send(watcher: int) -> None:
        if watcher == 0:
            player_side.send(b"x")  # the player's frame arrives while the first chunk is written
        order.append(f"spectator {watcher}")

    spectators = dict.fromkeys(range(3 * watchers.SPECTATOR_CHUNK))
    try:
        await fan_out(spectators, send)
    finally:
        loop.remove_reader(server_side)
        player_side.close()
        server_side.close()
    assert order.index("player") == watchers.SPECTATOR_CHUNK, order[:watchers.SPECTATOR_CHUNK + 2]
    assert len(order) == len(spectators) + 1


async def test_a_fan_out_skips_a_spectator_gone_meanwhile_and_drops_one_that_fails():
    spectators = dict.fromkeys(range(2 * watchers.SPECTATOR_CHUNK))
    sent: list[int] = []

    async def send(watcher: int) -> None:
        if watcher == 1:
            raise ConnectionError("closing as we write")
        if watcher == 2:
            del spectators[watchers.SPECTATOR_CHUNK]  # went away before its turn
        sent.append(watcher)

    await fan_out(spectators, send)
    assert 1 not in spectators and 1 not in sent
    assert watchers.SPECTATOR_CHUNK not in sent
    assert len(sent) == 2 * watchers.SPECTATOR_CHUNK - 2


async def test_spectators_woken_together_take_their_turns_with_a_player_in_between():
    loop = asyncio.get_running_loop()
    order: list[str] = []
    snapshot_read = loop.create_future()  # the one read the followers of a table all wait for

    async def follower(index: int) -> None:
        await snapshot_read
        async with spectator_turn():
            order.append(f"spectator {index}")

    followers = [asyncio.create_task(follower(index)) for index in range(3 * watchers.SPECTATOR_CHUNK)]
    await asyncio.sleep(0)
    snapshot_read.set_result(None)
    loop.call_soon(order.append, "player")  # a player's frame handled once the read is done
    await asyncio.gather(*followers)
    assert order.index("player") <= watchers.SPECTATOR_CHUNK, order
    assert sorted(order) == sorted(["player", *(f"spectator {index}" for index in range(len(followers)))])


async def test_the_spectators_copies_wait_while_a_players_command_is_in_flight(monkeypatch):
    monkeypatch.setattr(watchers, "SPECTATOR_YIELD", 10.0)  # only the command's end lets them go
    order: list[str] = []

    async def send(watcher: int) -> None:
        order.append(f"spectator {watcher}")

    command = watchers.player_command()
    await command.__aenter__()  # a seat's move, at the database
    fanning = asyncio.create_task(fan_out(dict.fromkeys(range(2 * watchers.SPECTATOR_CHUNK)), send))
    await asyncio.sleep(0.05)
    assert order == []
    await command.__aexit__(None, None, None)
    order.append("player done")
    await asyncio.wait_for(fanning, 5)
    assert order[0] == "player done"
    assert len(order) == 2 * watchers.SPECTATOR_CHUNK + 1


async def test_players_who_never_stop_still_let_the_spectators_through_a_chunk_at_a_time(monkeypatch):
    monkeypatch.setattr(watchers, "SPECTATOR_YIELD", 0.002)
    sent: list[int] = []

    async def send(watcher: int) -> None:
        sent.append(watcher)

    async with watchers.player_command():  # a command in flight for the whole fan-out
        await asyncio.wait_for(fan_out(dict.fromkeys(range(3 * watchers.SPECTATOR_CHUNK)), send), 5)
        assert sent == list(range(3 * watchers.SPECTATOR_CHUNK))
        assert watchers.spectator_turn().players_busy == 1
    assert watchers.spectator_turn().players_busy == 0
    assert watchers.spectator_turn().players_done.is_set()
