"""PostgreSQL restarted mid-game under a running daphne: while it is down every request that
needs it gets a retryable `ERROR UNAVAILABLE` (the socket stays open), /healthz says 503, and
once it is back the same process serves again — no restart — and the game finishes whole."""

import asyncio
import json
import time
import urllib.error
import urllib.request

import pytest
import websockets

from lobby_site.client import LobbyClient, ServerError, connect_socket, encode_command
from tests.faults.helpers import SERVER_SETTINGS, Seat, check_games, first_after, play_through, two_rooms
from tests.servers import Daphne, server_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(90)]

PG_DOWN = 3.0  # seconds, at least


def healthz(http_url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{http_url}/healthz", timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


async def hello_refused(ws_url: str, room_id: int, token: str) -> tuple[str, int]:
    """Say HELLO on a new game socket; return the error code and the close code."""
    async with connect_socket(f"{ws_url}/ws/rooms/{room_id}/", 10) as ws:
        await ws.send(encode_command("HELLO", {"token": token}, 1))
        refusal = json.loads(await asyncio.wait_for(ws.recv(), 10))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert refusal["cmd"] == "ERROR" and refusal["reply_to"] == 1
    return refusal["payload"]["data"]["code"], closed.value.rcvd.code


def error_codes(seat: Seat) -> list[str]:
    return [error["payload"]["data"]["code"] for error in seat.state.errors]


async def test_a_postgres_restart_mid_game_gives_retryable_errors_and_the_game_finishes(cluster, database_url,
                                                                                         tmp_path):
    env = server_env(database_url, **SERVER_SETTINGS)
    daphne = Daphne(env, log_path=tmp_path / "daphne.log").start()
    pid = daphne.process.pid
    try:
        seats = await two_rooms((daphne.ws_url, daphne.ws_url), "Database")
        measured = {}

        async def fault():
            await asyncio.to_thread(cluster.stop, "fast")  # ends every session, as a restart does
            measured["down"] = time.monotonic()
            try:
                # The bots go on answering and resyncing meanwhile: each is refused, retryably.
                async def refused():
                    while not any("UNAVAILABLE" in error_codes(seat) for seat in seats):
                        await asyncio.sleep(0.05)
                await asyncio.wait_for(refused(), 10)
                measured["first_error_s"] = round(time.monotonic() - measured["down"], 2)
                async with LobbyClient(daphne.ws_url) as lobby:
                    with pytest.raises(ServerError) as lobby_refused:
                        await lobby.create_room("Meanwhile", 2, "Cy")
                measured["lobby"] = lobby_refused.value.code
                measured["healthz_down"] = await asyncio.to_thread(healthz, daphne.http_url)
                measured["hello"] = await hello_refused(daphne.ws_url, seats[0].room_id, seats[0].token)
                await asyncio.sleep(max(0.0, measured["down"] + PG_DOWN - time.monotonic()))
            finally:
                await asyncio.to_thread(cluster.start)
            measured["up"] = time.monotonic()

        await play_through(seats, fault)
        measured["healthz_up"] = await asyncio.to_thread(healthz, daphne.http_url)
        assert daphne.process.poll() is None and daphne.process.pid == pid, "the server was restarted"
    finally:
        daphne.stop()

    assert measured["lobby"] == "UNAVAILABLE"
    assert measured["hello"] == ("UNAVAILABLE", 4503)  # a retryable close: the client comes back
    assert measured["healthz_down"][0] == 503 and measured["healthz_down"][1]["db"].startswith("error")
    assert measured["healthz_up"] == (200, {"db": "ok", "channel_layer": "ok"})
    pushed_again = []
    for seat in seats:
        assert seat.closes == [], "a socket was closed"  # no 1011, no reconnect needed
        assert set(error_codes(seat)) <= {"UNAVAILABLE"}, error_codes(seat)
        pushed_again.append(first_after(seat.pushed, measured["up"]))
    check_games(database_url, seats)
    measured.update(pushed_again_s=pushed_again, unavailable=[len(seat.state.errors) for seat in seats],
                    resent=[seat.resent for seat in seats], status_requests=[seat.status_requests for seat in seats])
    print("postgres restart", {k: v for k, v in measured.items() if k not in ("down", "up")})
