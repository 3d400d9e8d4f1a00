"""Redis restarted mid-game under two daphne processes (the channel layer between them):
the sends made while it is down are lost, the clients notice (a msg_id gap, or silence) and
resync with GET_GAME_STATUS, no answered move is lost, and the game finishes."""

import asyncio
import time

import pytest

from tests.faults.helpers import SERVER_SETTINGS, Seat, check_game, first_after, play_through, two_seat_room
from tests.servers import Daphne, server_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.scale, pytest.mark.timeout(90)]

REDIS_DOWN = 2.0  # seconds


async def test_a_redis_restart_mid_game_loses_no_move(database_url, redis_server, tmp_path):
    env = server_env(database_url, redis_server.url, **SERVER_SETTINGS)
    first = Daphne(env, log_path=tmp_path / "first.log").start()
    second = Daphne(env, log_path=tmp_path / "second.log").start()
    try:
        room_id, tokens = await two_seat_room(first.ws_url, "Redis")
        # One seat on each process: every move crosses Redis.
        seats = [Seat([first.ws_url], room_id, tokens[0]), Seat([second.ws_url], room_id, tokens[1])]
        measured = {}

        async def fault():
            await asyncio.to_thread(redis_server.stop)
            measured["down"] = time.monotonic()
            await asyncio.sleep(REDIS_DOWN)
            await asyncio.to_thread(redis_server.start)
            measured["up"] = time.monotonic()

        started = time.monotonic()
        overs = await play_through(seats, fault)
        measured["game_s"] = round(time.monotonic() - started, 1)
        assert first.process.poll() is None and second.process.poll() is None, "a server died"
    finally:
        first.stop()
        second.stop()

    assert overs[0] == overs[1]
    check_game(database_url, room_id, seats)
    for seat in seats:
        # Frames come through Redis again once it is back: the game does not go on by polling.
        back = first_after(seat.pushed, measured["up"])
        assert back is not None and back < 10, f"seat {seat.state.seat}: nothing pushed after Redis came back"
        assert seat.status_requests <= 4, seat.status_requests
        measured[f"seat {seat.state.seat} pushed_again_s"] = back
    measured.update(status_requests=[seat.status_requests for seat in seats], gaps=[seat.state.gaps for seat in seats],
                    reconnects=[seat.reconnects for seat in seats], resent=[seat.resent for seat in seats])
    print("redis restart", measured)
