"""The protocol client's rematch (`lobby_site.client.rematch`, used by the terminal's /rematch)
against a real daphne on PostgreSQL: the first asker makes the room, the second takes the offer."""

import asyncio

import pytest

from lobby_site.client import LobbyClient, SeatClient, ServerError, rematch
from tests.client.test_client_servers import LOAD_SETTINGS, play
from tests.servers import Daphne, postgres_database, server_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with postgres_database() as url:
        env = server_env(url, ROOMMATE_INTERVAL=60, LOG_LEVEL="WARNING", DEBUG="false", MAX_TURNS=30, **LOAD_SETTINGS)
        daphne = Daphne(env, log_path=tmp_path_factory.mktemp("daphne") / "daphne.log").start()
        yield daphne
        daphne.stop()


async def test_the_client_asks_for_a_rematch_and_takes_the_offer(server):
    async with LobbyClient(server.ws_url) as lobby:
        made = await lobby.create_room("Client", 3, "Ann", computers=1)
        room_id = made["room"]["room_id"]
        joined = await lobby.join_room(room_id, "Bob")
        with pytest.raises(ServerError) as refused:  # not over yet: not even begun
            await rematch(server.ws_url, room_id, made["player"]["token"])
        assert refused.value.code == "GAME_NOT_STARTED"

        tokens = [made["player"]["token"], joined["player"]["token"]]
        async with SeatClient(server.ws_url, room_id, tokens[0]) as ann, \
                SeatClient(server.ws_url, room_id, tokens[1]) as bob:
            await asyncio.gather(play(ann, []), play(bob, []))

        first = await rematch(server.ws_url, room_id, tokens[0])
        second = await rematch(server.ws_url, room_id, tokens[1])  # offered Ann's, and took it
        again = await rematch(server.ws_url, room_id, tokens[1])

        new_id = first["room"]["room_id"]
        assert first["room"]["name"] == "Client – rematch" and first["player"]["seat"] == 0
        assert second["room"]["room_id"] == new_id and second["player"]["seat"] == 2
        assert second["player"]["name"] == "Bob" and again["player"] == second["player"]
        with pytest.raises(ServerError) as refused:  # the seats are kept for the old game's people
            await lobby.join_room(new_id, "Cleo")
        assert refused.value.code == "ROOM_FULL"

    async with SeatClient(server.ws_url, new_id, first["player"]["token"]) as ann, \
            SeatClient(server.ws_url, new_id, second["player"]["token"]) as bob:
        prompts = [asyncio.ensure_future(seat.next_prompt()) for seat in (ann, bob)]
        done, pending = await asyncio.wait(prompts, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        assert done, "the rematch began: someone is asked to play"
