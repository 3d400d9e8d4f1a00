"""The protocol client and `manage.py loadtest` against a real daphne on PostgreSQL."""

import asyncio
import gc
import json
import subprocess
import sys
import time

import pytest

from lobby_site.bot import choose_answer
from lobby_site.client import CLOSE_UNAUTHORIZED, LobbyClient, SeatClient, ServerError
from lobby_site.loadgen import LoadConfig, Stats, run_load
from lobby_site.wire import ServerCmd
from tests.game.servers import game_row
from tests.servers import ROOT, Daphne, postgres_database, server_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

# Limits the server may enforce per address (docs/protocol.md second round), raised for load.
LOAD_SETTINGS = {"RATE_LIMIT": 1000, "ROOMS_PER_ADDRESS": 10000, "DRAFTS_PER_ADDRESS": 10000}
SUMMARY_KEYS = {"players", "moves_per_s", "p50_ms", "p95_ms", "p99_ms", "connect_failures", "errors", "gaps",
                "moves", "duration_s", "rooms", "games_finished"}


@pytest.fixture(scope="module")
def database_url():
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    env = server_env(database_url, ROOMMATE_INTERVAL=60, LOG_LEVEL="WARNING", DEBUG="false", **LOAD_SETTINGS)
    daphne = Daphne(env, log_path=tmp_path_factory.mktemp("daphne") / "daphne.log").start()
    yield daphne
    daphne.stop()


async def play(seat: SeatClient, answers: list) -> dict:
    """Answer every prompt with the bot strategy until the game is over; return GAME_OVER's data."""
    while (prompt := await asyncio.wait_for(seat.next_prompt(), 60)) is not None:
        data = choose_answer(prompt["payload"], seat.state.hand, seat.state.top_card_id)
        answers.append(data)
        await seat.answer(data, prompt)
    return seat.state.over


def check_seat(database_url: str, room_id: int, seat: SeatClient) -> dict:
    """The seat's tracked hand and msg_id match the database; nothing was refused or lost."""
    row = game_row(database_url, room_id)
    assert row["status"] == "finished"
    assert seat.state.hand == sorted(row["state"]["hands"][seat.state.seat]), f"seat {seat.state.seat}'s hand"
    assert seat.state.last_msg_id == row["seats"][seat.state.seat]["msg_id"]
    assert seat.state.errors == [] and seat.state.gaps == 0
    return row


async def test_the_client_plays_a_whole_game_with_computers(server, database_url):
    async with LobbyClient(server.ws_url) as lobby:
        made = await lobby.create_room("Client", 3, "Ann", computers=2)
    assert made["room"]["seated"] == 3 and made["player"]["seat"] == 0
    latencies, answers = [], []
    async with SeatClient(server.ws_url, made["room"]["room_id"], made["player"]["token"],
                          on_answer=lambda latency, error: latencies.append((latency, error))) as seat:
        over = await play(seat, answers)
    assert over is not None and over["ranking"][0]["seat"] == over["winner"]
    ours = next(r for r in over["ranking"] if r["seat"] == 0)
    assert ours["cards_left"] == len(seat.state.hand)
    check_seat(database_url, made["room"]["room_id"], seat)
    assert answers and len(latencies) == len(answers)
    assert all(error is None and 0 < latency < 10 for latency, error in latencies)


async def test_two_people_meet_in_the_lobby_and_play_to_the_end(server, database_url):
    async with LobbyClient(server.ws_url) as watcher, LobbyClient(server.ws_url) as ann, \
            LobbyClient(server.ws_url) as bob:
        made = await ann.create_room("Two of us", 2, "Ann")
        room_id = made["room"]["room_id"]
        push = await watcher.next_push(10)
        while room_id not in [room["room_id"] for room in push["payload"]["data"]["rooms"]]:
            push = await watcher.next_push(10)
        assert push["cmd"] == "ROOMS_CHANGED"
        assert room_id in [room["room_id"] for room in (await bob.get_rooms())["rooms"]]
        joined = await bob.join_room(room_id, "Bob")
        with pytest.raises(ServerError) as refused:
            await bob.join_room(room_id, "Cy")
        assert refused.value.code == "ROOM_FULL"
    assert joined["player"]["seat"] == 1
    seats = [SeatClient(server.ws_url, room_id, made["player"]["token"]),
             SeatClient(server.ws_url, room_id, joined["player"]["token"])]
    for seat in seats:
        await seat.__aenter__()
    try:
        results = await asyncio.gather(*(play(seat, []) for seat in seats))
    finally:
        for seat in seats:
            await seat.__aexit__(None, None, None)
    assert results[0] == results[1] and results[0] is not None
    for seat in seats:
        check_seat(database_url, room_id, seat)


async def test_a_wrong_token_stops_the_client_without_retrying(server):
    async with LobbyClient(server.ws_url) as lobby:
        made = await lobby.create_room("Locked", 2, "Ann")
    seat = SeatClient(server.ws_url, made["room"]["room_id"], "not-a-token")
    await asyncio.wait_for(seat.run(), 30)
    assert seat.final_close == CLOSE_UNAUTHORIZED and seat.reconnects == 0
    assert [e["payload"]["data"]["code"] for e in seat.state.errors] == ["UNAUTHORIZED"]


def test_loadtest_keeps_eight_bots_playing(server, tmp_path):
    """`manage.py loadtest` needs no database or SECRET_KEY: it runs with neither set. With
    `--latencies` it also writes each measured move: its sending time and its latency."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    latencies = tmp_path / "moves.txt"
    started = time.time()
    done = subprocess.run([sys.executable, "manage.py", "loadtest", "--url", server.ws_url, "--players", "8",
                           "--think", "0.05", "--duration", "8", "--no-progress", "--latencies", str(latencies)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert SUMMARY_KEYS <= set(summary)
    assert summary["players"] == 8 and summary["moves"] > 0 and summary["moves_per_s"] > 0
    assert summary["errors"] == summary["gaps"] == summary["connect_failures"] == 0
    assert 0 < summary["p50_ms"] <= summary["p95_ms"] <= summary["p99_ms"]
    assert summary["rooms"] >= 2
    moves = [tuple(map(float, line.split())) for line in latencies.read_text().splitlines()]
    assert len(moves) == summary["moves"]
    assert all(started < sent < time.time() for sent, _ in moves)
    assert abs(max(latency for _, latency in moves) - summary["max_ms"]) <= 0.05


async def test_loadtest_opens_its_window_only_once_every_bot_is_seated(server):
    """Tables still being seated (greetings and deals, not moves) stay out of the measured window."""
    stats = Stats(players=8)
    seated_at: list[float] = []
    record_frame = stats.record_frame

    def noting_seats(frame: dict) -> None:
        if frame["cmd"] == ServerCmd.CONNECTED:
            seated_at.append(time.perf_counter())
        record_frame(frame)

    stats.record_frame = noting_seats  # what each bot's seat socket reports its frames to
    config = LoadConfig(base_url=server.ws_url, players=8, think=0.05, seed=3)
    # Spawned within a few milliseconds, the bots are seated well after the last one is spawned.
    await asyncio.wait_for(run_load(config, stats, spawn_rate=1000, warmup=0, duration=1), 120)
    assert len(seated_at) >= 8
    assert stats.window is not None and stats.window[0] >= sorted(seated_at)[7]
    assert stats.moves > 0


async def test_loadtest_keeps_its_own_garbage_collections_out_of_the_window_it_measures(server):
    """A collection pauses every bot, and the pause would be counted as the server's move latency."""
    stats = Stats(players=4)
    collector_on: list[bool] = []
    record_answer = stats.record_answer

    def noting_the_collector(latency, error):
        if stats.measuring():
            collector_on.append(gc.isenabled())
        record_answer(latency, error)

    stats.record_answer = noting_the_collector
    config = LoadConfig(base_url=server.ws_url, players=4, think=0.05, seed=5)
    assert gc.isenabled()
    await asyncio.wait_for(run_load(config, stats, spawn_rate=1000, warmup=0, duration=1), 120)
    assert collector_on and not any(collector_on)
    assert gc.isenabled()  # and on again once the window closed


def test_loadtest_fails_when_it_cannot_connect():
    from tests.conftest import closed_port

    done = subprocess.run([sys.executable, "manage.py", "loadtest", "--url", f"ws://127.0.0.1:{closed_port()}",
                           "--players", "4", "--think", "0", "--duration", "2", "--no-progress"],
                          cwd=ROOT, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["connect_failures"] > 0 and summary["moves"] == 0


def test_loadtest_spectators_watch_without_a_gap_beside_the_bots_or_in_a_process_of_their_own(server):
    env = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    base = [sys.executable, "manage.py", "loadtest", "--url", server.ws_url, "--think", "0.05", "--no-progress"]
    alone = subprocess.Popen([*base, "--players", "0", "--spectators", "4", "--duration", "10"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    beside = subprocess.run([*base, "--players", "8", "--spectators", "6", "--duration", "8"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    out, err = alone.communicate(timeout=120)
    for done, stdout, stderr, spectators in ((beside, beside.stdout, beside.stderr, 6), (alone, out, err, 4)):
        assert done.returncode == 0, stderr[-3000:]
        summary = json.loads(stdout.strip().splitlines()[-1])
        assert summary["spectators"] == spectators and summary["spectator_frames"] > 0, summary
        assert summary["spectator_gaps"] == summary["spectator_failures"] == 0, summary
    assert json.loads(out.strip().splitlines()[-1])["moves"] == 0  # it only watched


def test_loadtest_rematch_keeps_the_bots_at_their_table_and_its_spectators_follow_it(server):
    env = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, "manage.py", "loadtest", "--url", server.ws_url, "--players", "4",
                           "--spectators", "3", "--rematch", "--think", "0.02", "--duration", "12", "--no-progress"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["errors"] == summary["gaps"] == summary["connect_failures"] == 0, summary
    assert summary["rooms"] == 1 and summary["games_finished"] >= 2, summary  # the rest were its rematches
    assert summary["spectator_moves"] >= 3, summary  # each spectator followed the table at least once
    assert summary["spectator_gaps"] == summary["spectator_failures"] == 0 and summary["spectator_frames"] > 0


async def test_a_lobby_clients_pushes_come_in_order_and_end_with_its_connection(server):
    async with LobbyClient(server.ws_url) as lobby, LobbyClient(server.ws_url) as other:
        await lobby.get_rooms()  # the connection is open and listening
        pushes = lobby.pushed()
        made = await other.create_room("Pushed", 4, "Ann")
        first = await asyncio.wait_for(anext(pushes), 10)
        assert first["cmd"] == "ROOMS_CHANGED"
        assert made["room"]["room_id"] in [room["room_id"] for room in first["payload"]["data"]["rooms"]]
        await lobby._ws.close()  # the connection ends: so do its pushes
        with pytest.raises(StopAsyncIteration):
            while True:  # pushes already received still come first
                await asyncio.wait_for(anext(pushes), 10)
