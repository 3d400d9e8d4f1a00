"""SIGTERM to a daphne during play (a deploy, a service manager stopping it): every socket
is closed with 1012 (service restart), the process exits within 5 s, and the clients
reconnect to the server restarted on the same port and resume the games."""

import asyncio
import time

import pytest

from lobby_site.client import LobbyClient
from tests.faults.helpers import SERVER_SETTINGS, check_games, play_through, two_rooms
from tests.servers import Daphne, server_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(90)]

SERVICE_RESTART = 1012


async def test_sigterm_closes_every_socket_with_1012_and_the_clients_resume(database_url, tmp_path):
    env = server_env(database_url, **SERVER_SETTINGS)
    daphne = Daphne(env, log_path=tmp_path / "daphne.log").start()
    lobby = None
    try:
        seats = await two_rooms((daphne.ws_url, daphne.ws_url), "Stopped")
        lobby = await LobbyClient(daphne.ws_url).connect()
        measured = {}

        async def fault():
            measured["exit_s"] = round(await asyncio.to_thread(daphne.terminate, 5), 2)
            measured["exited"] = time.monotonic()
            await asyncio.wait_for(lobby.wait_closed(), 5)
            measured["lobby_close"] = lobby._ws.close_code
            await asyncio.to_thread(daphne.start)
            measured["up"] = time.monotonic()

        await play_through(seats, fault)
    finally:
        if lobby is not None:
            await lobby.close()
        daphne.stop()

    assert measured["lobby_close"] == SERVICE_RESTART
    resumed = []
    for seat in seats:
        assert [code for _, code in seat.closes] == [SERVICE_RESTART]
        resumes = [at for at, cmd in seat.snapshots if cmd == "RESUME" and at > measured["exited"]]
        assert resumes, "no RESUME after the restart"
        # From the moment the restarted server answered /healthz (a client may come back first).
        resumed.append(round(max(0.0, resumes[0] - measured["up"]), 2))
    check_games(database_url, seats)
    measured.update(restart_s=round(measured["up"] - measured["exited"], 2), resumed_s=resumed,
                    resent=[seat.resent for seat in seats])
    print("sigterm", {k: v for k, v in measured.items() if k not in ("exited", "up")})
