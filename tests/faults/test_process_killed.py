"""kill -9 of one of two daphne processes behind the same Redis and PostgreSQL, mid-game:
no disconnect handler runs; its players' clients find the other process (their next URL)
on reconnecting, get RESUME there, and the games finish. (tests/game/test_game_servers.py
restarts a killed single server; tests/game/test_leaving_servers.py lets the seat be swept
and autoplayed instead.)"""

import time

import pytest

from tests.faults.helpers import SERVER_SETTINGS, check_games, first_after, play_through, two_rooms
from tests.servers import Daphne, server_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.scale, pytest.mark.timeout(90)]


async def test_a_killed_process_players_resume_on_the_other_and_the_games_finish(database_url, redis_server,
                                                                                   tmp_path):
    env = server_env(database_url, redis_server.url, **SERVER_SETTINGS)
    doomed = Daphne(env, log_path=tmp_path / "doomed.log").start()
    survivor = Daphne(env, log_path=tmp_path / "survivor.log").start()
    try:
        # One seat of each room on each process; each client knows both servers, its own first.
        seats = await two_rooms((doomed.ws_url, survivor.ws_url), "Killed")
        measured = {}

        async def fault():
            measured["killed"] = time.monotonic()
            doomed.kill()

        await play_through(seats, fault)
        assert survivor.process.poll() is None
    finally:
        doomed.stop()
        survivor.stop()

    moved = [seat for seat in seats if seat.urls[0].startswith(doomed.ws_url)]
    stayed = [seat for seat in seats if seat not in moved]
    assert len(moved) == len(stayed) == 2
    resumed = []
    for seat in moved:
        assert [code for _, code in seat.closes] == [None]  # dropped: a killed process sends no close frame
        assert seat.url == seat.urls[1]  # it now talks to the survivor
        resumes = [at for at, cmd in seat.snapshots if cmd == "RESUME" and at > measured["killed"]]
        assert resumes, "no RESUME from the other process"
        resumed.append(round(resumes[0] - measured["killed"], 2))
    for seat in stayed:
        assert seat.closes == [] and seat.reconnects == 0
    check_games(database_url, seats)
    measured.update(resumed_s=resumed, connect_failures=[seat.connect_failures for seat in moved],
                    stayed_pushed_again_s=[first_after(seat.pushed, measured["killed"]) for seat in stayed],
                    resent=[seat.resent for seat in seats], status_requests=[seat.status_requests for seat in seats])
    print("kill -9", {k: v for k, v in measured.items() if k != "killed"})
