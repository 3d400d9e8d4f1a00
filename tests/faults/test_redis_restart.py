"""Redis restarted mid-game under two daphne processes (the channel layer between them):
the sends made while it is down are lost, the clients notice (silence, or a msg_id gap) and
resync with GET_GAME_STATUS, no answered move is lost, and the games finish."""

import asyncio
import time

import pytest

from tests.faults.helpers import SERVER_SETTINGS, check_games, first_after, play_through, two_rooms
from tests.servers import Daphne, server_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.scale, pytest.mark.timeout(90)]

REDIS_DOWN = 2.0  # seconds


async def test_a_redis_restart_mid_game_loses_no_move(database_url, redis_server, tmp_path):
    env = server_env(database_url, redis_server.url, **SERVER_SETTINGS)
    first = Daphne(env, log_path=tmp_path / "first.log").start()
    second = Daphne(env, log_path=tmp_path / "second.log").start()
    try:
        # The seats of each room on both processes: every move crosses Redis.
        seats = await two_rooms((first.ws_url, second.ws_url), "Redis")
        measured = {}

        async def fault():
            await asyncio.to_thread(redis_server.stop)  # no persistence: it comes back empty
            measured["down"] = time.monotonic()
            await asyncio.sleep(REDIS_DOWN)
            await asyncio.to_thread(redis_server.start)
            measured["up"] = time.monotonic()

        started = time.monotonic()
        await play_through(seats, fault)
        measured["games_s"] = round(time.monotonic() - started, 1)
        assert first.process.poll() is None and second.process.poll() is None, "a server died"
    finally:
        first.stop()
        second.stop()

    check_games(database_url, seats)
    assert sum(seat.status_requests for seat in seats) >= 1, "nobody resynced"
    pushed_again = []
    for seat in seats:
        assert seat.closes == [], "a socket was closed"
        # Frames come through Redis again once it is back: the games do not go on by polling.
        back = first_after(seat.pushed, measured["up"])
        assert back is not None and back < 10, f"seat {seat.state.seat}: nothing pushed after Redis came back"
        assert seat.status_requests <= 4, seat.status_requests
        pushed_again.append(back)
    measured.update(pushed_again_s=pushed_again, status_requests=[seat.status_requests for seat in seats],
                    gaps=[seat.state.gaps for seat in seats], resent=[seat.resent for seat in seats])
    print("redis restart", {k: v for k, v in measured.items() if k not in ("down", "up")})
