"""kill -9 of one of two daphne processes behind the same Redis and PostgreSQL, mid-game:
no disconnect handler runs; its player's client finds the other process (its next URL) on
reconnecting, gets RESUME there, and the game finishes. (tests/game/test_game_servers.py
restarts a killed single server; tests/game/test_leaving_servers.py lets the seat be swept
and autoplayed instead.)"""

import time

import pytest

from tests.faults.helpers import SERVER_SETTINGS, Seat, check_game, first_after, play_through, two_seat_room
from tests.servers import Daphne, server_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.scale, pytest.mark.timeout(90)]


async def test_a_killed_process_players_resume_on_the_other_and_the_game_finishes(database_url, redis_server,
                                                                                    tmp_path):
    env = server_env(database_url, redis_server.url, **SERVER_SETTINGS)
    doomed = Daphne(env, log_path=tmp_path / "doomed.log").start()
    survivor = Daphne(env, log_path=tmp_path / "survivor.log").start()
    try:
        room_id, tokens = await two_seat_room(survivor.ws_url, "Killed")
        # Each client knows both servers and starts on its own.
        seats = [Seat([doomed.ws_url, survivor.ws_url], room_id, tokens[0]),
                 Seat([survivor.ws_url, doomed.ws_url], room_id, tokens[1])]
        measured = {}

        async def fault():
            measured["killed"] = time.monotonic()
            doomed.kill()

        overs = await play_through(seats, fault)
        assert survivor.process.poll() is None
    finally:
        doomed.stop()
        survivor.stop()

    assert overs[0] == overs[1]
    moved, stayed = seats
    assert [code for _, code in moved.closes] == [None]  # dropped: no close frame from a killed process
    assert moved.connect_failures >= 1 and moved.url == moved.urls[1]  # it now talks to the survivor
    resumed = [at for at, cmd in moved.snapshots if cmd == "RESUME" and at > measured["killed"]]
    assert resumed, "no RESUME from the other process"
    assert stayed.closes == [] and stayed.reconnects == 0
    check_game(database_url, room_id, seats)
    measured.update(resumed_s=round(resumed[0] - measured["killed"], 2),
                    stayed_pushed_again_s=first_after(stayed.pushed, measured["killed"]),
                    connect_failures=moved.connect_failures, resent=[seat.resent for seat in seats],
                    status_requests=[seat.status_requests for seat in seats])
    print("kill -9", measured)
