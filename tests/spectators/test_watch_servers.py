"""Spectators of whole games on a real daphne: every frame a spectator gets holds no card that
any hand held at that moment, and the spectator stream has no gap."""

import asyncio

import pytest
import websockets

from tests.game.servers import game_row, replay_hands, room_with_seats, seated_clients
from tests.servers import Daphne, postgres_database, server_env
from tests.spectators.helpers import WatchState, hand_leaks

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

SEED = 4242
MAX_TURNS = 300


@pytest.fixture(scope="module")
def database_url():
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    env = server_env(database_url, GAME_SEED=SEED, MAX_TURNS=MAX_TURNS, ROOMMATE_INTERVAL=60, RATE_LIMIT=1000)
    daphne = Daphne(env, log_path=tmp_path_factory.mktemp("daphne") / "daphne.log").start()
    yield daphne
    daphne.stop()


async def spectate(url: str, state: WatchState) -> None:
    async with websockets.connect(url, open_timeout=20) as socket:
        while state.over is None:
            state.apply_text(await asyncio.wait_for(socket.recv(), 60))


@pytest.mark.parametrize("seats", [2, 4])
async def test_no_spectator_frame_holds_a_card_of_any_hand_and_msg_ids_have_no_gap(server, database_url, seats):
    room_id, tokens = await room_with_seats(server.ws_url, seats)
    watchers = [WatchState(), WatchState()]
    watching = [asyncio.create_task(spectate(f"{server.ws_url}/ws/rooms/{room_id}/watch/{query}", state))
                for query, state in zip(("", "?batch=1"), watchers)]
    await asyncio.sleep(0.5)  # both watch from before the game
    clients = await seated_clients(server.ws_url, room_id, tokens)
    answers = []
    try:
        await asyncio.gather(*(client.play_until_over(
            on_answer=lambda seat, kind, data: answers.append((seat, kind, data))) for client in clients))
        await asyncio.wait_for(asyncio.gather(*watching), 60)
    finally:
        for client in clients:
            await client.close()
    dealt, timeline = replay_hands(seats, SEED, MAX_TURNS, answers)
    row = game_row(database_url, room_id)

    for state in watchers:
        shown = [m["cmd"] for m in state.frames if m["cmd"] != "ROOMMATES"]
        assert shown[0] == "WATCHING" and shown.count("WATCHING") == 1 and state.frames[0]["cmd"] == "ROOMMATES"
        engine_events = [m for m in state.frames if m["cmd"] == "GAME_EVENT"
                         and m["payload"]["data"]["event"] != "spectators"]
        assert len(engine_events) == len(timeline)
        assert state.last == row["event_count"] + 1  # the log's events, GAME_OVER after them
        moments = {}
        seen = 0
        for message in state.frames:
            if message["cmd"] == "GAME_EVENT" and message["payload"]["data"]["event"] != "spectators":
                seen += 1
            moments[id(message)] = timeline[seen - 1] if seen else dealt
        assert hand_leaks(state.frames, lambda message: moments[id(message)]) == []
    # The check sees cards at all: the plays a spectator saw were in hands a moment before.
    state = watchers[0]
    earlier = {}
    seen = 0
    for message in state.frames:
        earlier[id(message)] = timeline[seen - 2] if seen >= 2 else dealt
        if message["cmd"] == "GAME_EVENT" and message["payload"]["data"]["event"] != "spectators":
            seen += 1
    assert hand_leaks(state.frames, lambda message: earlier[id(message)]), "the check cannot fail"
