"""Whole games against real daphne processes on PostgreSQL: real WebSocket clients, the
database read directly, a server killed mid-game, and two processes racing to begin a game."""

import asyncio
import contextlib

import pytest
import websockets

from tests.game.helpers import Silence, WebsocketClient, conservation
from tests.game.servers import game_row, leaked_cards, replay_hands, room_with_seats, seated_clients
from tests.servers import Daphne, postgres_database, server_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

SEED = 777
MAX_TURNS = 400


@pytest.fixture(scope="module")
def database_url():
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    """One daphne on its own PostgreSQL database, with a fixed game seed."""
    env = server_env(database_url, GAME_SEED=SEED, MAX_TURNS=MAX_TURNS, ROOMMATE_INTERVAL=60)
    daphne = Daphne(env, log_path=tmp_path_factory.mktemp("daphne") / "daphne.log").start()
    yield daphne
    daphne.stop()


async def close_all(clients) -> None:
    for client in clients:
        await client.close()


def check_finished(database_url: str, room_id: int, clients, over: dict) -> dict:
    """Check the finished game in the database against what every client was told."""
    row = game_row(database_url, room_id)
    conservation(row["state"])  # R16
    assert row["status"] == "finished" and row["games"] == 1
    assert row["state"]["outcome"]["winner"] == over["winner"]
    assert row["event_count"] == row["events"]
    for client in clients:
        assert sorted(client.hand) == sorted(row["state"]["hands"][client.seat]), f"seat {client.seat}'s hand"
        assert row["seats"][client.seat]["msg_id"] == client.last_msg_id
        assert not client.errors
    return row


async def test_two_real_clients_play_a_whole_game(server, database_url):
    room_id, tokens = await room_with_seats(server.ws_url, 2)
    clients = await seated_clients(server.ws_url, room_id, tokens)
    try:
        results = await asyncio.gather(*(client.play_until_over() for client in clients))
    finally:
        await close_all(clients)

    assert results[0] == results[1]
    assert [r["name"] for r in results[0]["ranking"]] in (["Ann", "Player 1"], ["Player 1", "Ann"])
    check_finished(database_url, room_id, clients, results[0])


async def test_a_real_client_plays_a_whole_game_with_computers(server, database_url):
    room_id, tokens = await room_with_seats(server.ws_url, 3, computers=2)
    clients = await seated_clients(server.ws_url, room_id, tokens)
    try:
        over = await clients[0].play_until_over()
    finally:
        await close_all(clients)

    check_finished(database_url, room_id, clients, over)
    assert {f["payload"]["data"].get("seat") for f in clients[0].frames if f["cmd"] == "GAME_EVENT"} >= {1, 2}


async def test_games_played_at_once_on_a_pool_of_database_threads_lose_nothing(database_url, tmp_path):
    """DB_THREADS=4: six rooms' moves run on four threads at once; every game ends whole (R16),
    every seat told exactly what the database holds."""
    env = server_env(database_url, GAME_SEED=SEED, MAX_TURNS=MAX_TURNS, ROOMMATE_INTERVAL=60, DB_THREADS=4,
                     ROOMS_PER_ADDRESS=100)
    daphne = Daphne(env, log_path=tmp_path / "daphne.log").start()
    try:
        rooms = [await room_with_seats(daphne.ws_url, 2, name=f"Pool {k}") for k in range(6)]
        seated = [(room_id, await seated_clients(daphne.ws_url, room_id, tokens)) for room_id, tokens in rooms]
        try:
            results = await asyncio.gather(*(client.play_until_over() for _, clients in seated for client in clients))
        finally:
            for _, clients in seated:
                await close_all(clients)
    finally:
        daphne.stop()
    for k, (room_id, clients) in enumerate(seated):
        assert results[2 * k] == results[2 * k + 1]
        check_finished(database_url, room_id, clients, results[2 * k])
    assert "Traceback" not in (tmp_path / "daphne.log").read_text()


async def test_no_seat_ever_receives_a_card_of_another_hand(server, database_url):
    room_id, tokens = await room_with_seats(server.ws_url, 4)
    clients = await seated_clients(server.ws_url, room_id, tokens)
    answers = []
    try:
        results = await asyncio.gather(*(client.play_until_over(
            on_answer=lambda seat, kind, data: answers.append((seat, kind, data))) for client in clients))
    finally:
        await close_all(clients)
    check_finished(database_url, room_id, clients, results[0])

    dealt, timeline = replay_hands(4, SEED, MAX_TURNS, answers)

    for client in clients:
        assert sum(f["cmd"] == "GAME_EVENT" for f in client.frames) == len(timeline)
        assert leaked_cards(client.frames, client.seat, dealt, timeline) == []
    # The check sees cards at all: every seat was shown its own hand and the others' plays.
    assert leaked_cards(clients[0].frames, seat=1, dealt=dealt, timeline=timeline), "the check cannot fail"


async def _play_until_killed(clients, answers_before_kill: int, daphne: Daphne) -> None:
    """Play until `answers_before_kill` answers were sent, then SIGKILL the server."""
    answered = asyncio.Event()
    count = 0

    def on_answer(seat, kind, data):
        nonlocal count
        count += 1
        if count >= answers_before_kill:
            answered.set()

    async def play(client):
        with contextlib.suppress(websockets.ConnectionClosed, Silence, OSError):
            await client.play_until_over(on_answer=on_answer)

    tasks = [asyncio.create_task(play(client)) for client in clients]
    await asyncio.wait_for(answered.wait(), 60)
    daphne.kill()
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    assert all(client.over is None for client in clients), "the game ended before the kill"


async def test_a_server_killed_mid_game_resumes_every_client(database_url, tmp_path):
    env = server_env(database_url, GAME_SEED=SEED + 1, MAX_TURNS=MAX_TURNS, ROOMMATE_INTERVAL=60)
    daphne = Daphne(env, log_path=tmp_path / "daphne.log").start()
    try:
        room_id, tokens = await room_with_seats(daphne.ws_url, 2, name="Restart")
        clients = await seated_clients(daphne.ws_url, room_id, tokens)
        await _play_until_killed(clients, 12, daphne)
        await close_all(clients)
        saved = game_row(database_url, room_id)
        assert saved["status"] == "playing"

        daphne = Daphne(env, port=daphne.port, log_path=tmp_path / "daphne.log").start()
        resumed = []
        for before in clients:
            client = await WebsocketClient(daphne.ws_url, room_id, before.token, seat=before.seat).connect()
            client.last_msg_id = before.last_msg_id
            await client.hello(last_msg_id=before.last_msg_id)
            resume = await client.expect("RESUME")
            view = resume["payload"]["data"]
            assert resume["msg_id"] == saved["seats"][client.seat]["msg_id"] >= before.last_msg_id
            assert view["prompt"] == saved["seats"][client.seat]["prompt"]
            resumed.append(client)
        assert sum(client.prompt is not None for client in resumed) == 1  # the pending prompt is in the view
        try:
            results = await asyncio.gather(*(client.play_until_over() for client in resumed))
        finally:
            await close_all(resumed)
        check_finished(database_url, room_id, resumed, results[0])
    finally:
        daphne.stop()


@pytest.mark.scale
async def test_game_begins_once_when_the_last_two_connect_to_two_processes(database_url, redis_url, tmp_path):
    env = server_env(database_url, redis_url, GAME_SEED=SEED, ROOMMATE_INTERVAL=60)
    first = Daphne(env, log_path=tmp_path / "first.log").start()
    second = Daphne(env, log_path=tmp_path / "second.log").start()
    try:
        for round_ in range(6):
            room_id, tokens = await room_with_seats(first.ws_url, 2, name=f"Race {round_}")
            clients = [await WebsocketClient(server.ws_url, room_id, token).connect()
                       for server, token in zip((first, second), tokens)]
            try:
                await asyncio.gather(*(client.send("HELLO", {"token": client.token}) for client in clients))
                for client in clients:
                    await client.expect("CONNECTED")
                    begin = await client.skip_to("GAME_BEGIN")
                    assert begin["msg_id"] == 1
                    await client.drain(1.0)
                    assert [f["cmd"] for f in client.frames].count("GAME_BEGIN") == 1
                    assert not client.errors
                assert game_row(database_url, room_id)["games"] == 1
                assert any(client.prompt for client in clients)
            finally:
                await close_all(clients)
    finally:
        first.stop()
        second.stop()


async def test_a_game_whose_seats_two_processes_serve_plays_to_its_end(database_url, redis_url, tmp_path):
    """Each process keeps the row its last move wrote, so each move answered in one process
    starts from a copy the other process's moves have left behind: the copy's refusals are
    checked again on a read and its writes lose the compare-and-set, so every answer is taken
    once, nobody is refused, and the game ends whole (R16)."""
    # The clients answer at once: the rate limit would refuse some of their frames.
    env = server_env(database_url, redis_url, GAME_SEED=SEED, MAX_TURNS=MAX_TURNS, ROOMMATE_INTERVAL=60,
                     RATE_LIMIT=1000)
    first = Daphne(env, log_path=tmp_path / "first.log").start()
    second = Daphne(env, log_path=tmp_path / "second.log").start()
    try:
        room_id, tokens = await room_with_seats(first.ws_url, 3, name="Two processes")
        clients = []
        for server, token in zip((first, second, first), tokens):
            client = await WebsocketClient(server.ws_url, room_id, token).connect()
            await client.hello()
            clients.append(client)
        try:
            results = await asyncio.gather(*(client.play_until_over() for client in clients))
        finally:
            await close_all(clients)
        assert results[0] == results[1] == results[2]
        row = check_finished(database_url, room_id, clients, results[0])
        assert row["events"] > 20  # a real game, with moves answered in both processes
    finally:
        first.stop()
        second.stop()
