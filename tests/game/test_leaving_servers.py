"""Absence and leaving against real daphne processes on PostgreSQL and Redis: a player's server
process is killed (SIGKILL, no disconnect handler runs), the other process's clock sweeps the
stale heartbeat, and AWAY_WAIT later the computer acts for the seat."""

import asyncio

import pytest

from tests.game.helpers import WebsocketClient
from tests.game.servers import game_row, room_with_seats
from tests.servers import Daphne, postgres_database, server_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.scale, pytest.mark.timeout(300)]


async def until_event(client, name: str, seat: int, timeout: float = 60) -> dict:
    """Answer `client`'s prompts until the event `name` of `seat` arrives; return its frame."""

    async def run():
        while True:
            message = await client.receive()
            assert message["cmd"] != "ERROR", message
            data = message["payload"]["data"]
            if message["cmd"] == "GAME_EVENT" and data["event"] == name and data.get("seat") == seat:
                return message
            assert client.over is None, "the game ended first"
            if message["cmd"] == "GAME_MESSAGE_REP" and message["payload"]["flag"] == "USER_INPUT_CONTINUE":
                await client.answer()

    return await asyncio.wait_for(run(), timeout)


async def test_a_killed_process_seat_is_swept_then_autoplayed(redis_url, tmp_path):
    with postgres_database() as database_url:
        env = server_env(database_url, redis_url, GAME_SEED=4242, ROOMMATE_INTERVAL=60, AWAY_WAIT=1,
                         HEARTBEAT_INTERVAL=0.5, HEARTBEAT_STALE=2, CLOCK_INTERVAL=0.2)
        doomed = Daphne(env, log_path=tmp_path / "doomed.log").start()
        survivor = Daphne(env, log_path=tmp_path / "survivor.log").start()
        clients = []
        try:
            room_id, tokens = await room_with_seats(survivor.ws_url, 2, name="Killed")
            away = await WebsocketClient(doomed.ws_url, room_id, tokens[0]).connect()
            present = await WebsocketClient(survivor.ws_url, room_id, tokens[1]).connect()
            clients = [away, present]
            await away.hello()
            await present.hello()
            await present.skip_to("GAME_BEGIN")

            doomed.kill()

            gone = await until_event(present, "disconnected", away.seat)
            autoplay = await until_event(present, "autoplay", away.seat)
            assert autoplay["msg_id"] > gone["msg_id"]
            view = (await present.request("GET_GAME_STATUS", expect="GAME_STATUS"))["payload"]["data"]
            assert view["players"][away.seat]["connected"] is False
            row = game_row(database_url, room_id)
            assert row["status"] == "playing" and row["seats"][away.seat].get("autoplay") is True
            assert not present.errors
        finally:
            for client in clients:
                await client.close()
            doomed.stop()
            survivor.stop()
