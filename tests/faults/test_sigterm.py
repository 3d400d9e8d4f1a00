"""SIGTERM to a daphne during play (a deploy, a service manager stopping it): every socket
is closed with 1012 (service restart), the process exits within 5 s, and the clients
reconnect to the server restarted on the same port and resume the game."""

import asyncio
import time

import pytest

from lobby_site.client import LobbyClient
from tests.faults.helpers import SERVER_SETTINGS, Seat, check_game, play_through, two_seat_room
from tests.servers import Daphne, server_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(90)]

SERVICE_RESTART = 1012


async def test_sigterm_closes_every_socket_with_1012_and_the_clients_resume(database_url, tmp_path):
    env = server_env(database_url, **SERVER_SETTINGS)
    daphne = Daphne(env, log_path=tmp_path / "daphne.log").start()
    lobby = None
    try:
        room_id, tokens = await two_seat_room(daphne.ws_url, "Stopped")
        seats = [Seat([daphne.ws_url], room_id, token) for token in tokens]
        lobby = await LobbyClient(daphne.ws_url).connect()
        measured = {}

        async def fault():
            measured["exit_s"] = await asyncio.to_thread(daphne.terminate, 5)
            measured["exited"] = time.monotonic()
            await asyncio.wait_for(lobby.wait_closed(), 5)
            measured["lobby_close"] = lobby._ws.close_code
            await asyncio.to_thread(daphne.start)
            measured["up"] = time.monotonic()

        overs = await play_through(seats, fault)
    finally:
        if lobby is not None:
            await lobby.close()
        daphne.stop()

    assert overs[0] == overs[1]
    assert measured["lobby_close"] == SERVICE_RESTART
    for seat in seats:
        assert seat.closes[0][1] == SERVICE_RESTART, seat.closes
        assert len(seat.closes) == 1
        resumes = [at for at, cmd in seat.snapshots if cmd == "RESUME" and at > measured["exited"]]
        assert resumes, "no RESUME after the restart"
        # From the moment the restarted server answered /healthz (a client may come back first).
        measured[f"seat {seat.state.seat} resumed_s"] = round(max(0.0, resumes[0] - measured["up"]), 2)
    check_game(database_url, room_id, seats)
    measured.update(restart_s=round(measured["up"] - measured["exited"], 2), resent=[seat.resent for seat in seats])
    print("sigterm", measured)
