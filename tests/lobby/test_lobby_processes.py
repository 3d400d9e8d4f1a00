"""Races between two daphne processes on one PostgreSQL and one Redis (docs/architecture.md "Concurrency").

Inside one process Channels runs ORM calls one after another, so these races only exist
between processes: real servers, real sockets.
"""

from __future__ import annotations

import asyncio
import itertools
import json

import psycopg
import pytest
import websockets

from lobby_site.wire import check_frame
from tests.servers import Daphne, postgres_database, server_env

pytestmark = [pytest.mark.scale, pytest.mark.slow, pytest.mark.timeout(600)]

TIMEOUT = 20
CLIENTS = 20
ROUNDS = 50


class Client:
    """A lobby connection over a real socket."""

    def __init__(self, websocket):
        self.websocket = websocket
        self.msg_ids = itertools.count(1)

    @classmethod
    async def open(cls, server: Daphne) -> "Client":
        return cls(await websockets.connect(f"{server.ws_url}/ws/lobby/", open_timeout=TIMEOUT))

    async def send(self, cmd: str, payload: dict) -> int:
        msg_id = next(self.msg_ids)
        await self.websocket.send(json.dumps({"cmd": cmd, "msg_id": msg_id, "payload": payload}))
        return msg_id

    async def next_frame(self, wanted) -> dict:
        """Return the next frame for which `wanted(frame)` is true, skipping the others."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                message = json.loads(await self.websocket.recv())
                check_frame(message)
                if wanted(message):
                    return message

    async def answer(self, msg_id: int) -> dict:
        return await self.next_frame(lambda message: message["reply_to"] == msg_id)

    async def expect(self, cmd: str) -> dict:
        return await self.next_frame(lambda message: message["cmd"] == cmd)

    async def request(self, cmd: str, payload: dict) -> dict:
        return await self.answer(await self.send(cmd, payload))


@pytest.fixture
def servers(redis_url, tmp_path, request):
    """Start two daphne processes on a fresh PostgreSQL database; yield (database URL, servers)."""
    tunables = getattr(request, "param", {})
    with postgres_database() as database_url:
        env = server_env(database_url, redis_url, DISCONNECT_GRACE=3600, RATE_LIMIT=0, **tunables)
        started = []
        try:
            for k in range(2):
                started.append(Daphne(env, log_path=tmp_path / f"daphne{k}.log").start())
            yield database_url, started
        finally:
            for server in started:
                server.stop()


async def test_the_last_seat_goes_to_exactly_one_of_twenty(servers):
    database_url, (one, two) = servers
    clients = [await Client.open(one if k % 2 else two) for k in range(CLIENTS)]
    try:
        for round_ in range(ROUNDS):
            size = 2 + round_ % 7
            creator = clients[round_ % CLIENTS]
            created = await creator.request("CREATE_A_ROOM", {"room_name": f"Race {round_}", "num_of_players": size,
                                                              "user_name": "Host", "computers": size - 2})
            room_id = created["payload"]["data"]["room"]["room_id"]

            # Every client asks at the same moment; half of them through each server.
            msg_ids = await asyncio.gather(*(client.send("JOIN_ROOM", {"room_id": room_id, "user_name": f"J{k}"})
                                             for k, client in enumerate(clients)))
            answers = await asyncio.gather(*(client.answer(msg_id) for client, msg_id in zip(clients, msg_ids)))

            winners = [a for a in answers if a["cmd"] == "JOIN_ROOM_REP"]
            losers = [a["payload"]["data"]["code"] for a in answers if a["cmd"] == "ERROR"]
            assert len(winners) == 1, f"round {round_}: {len(winners)} got the last seat"
            assert losers == ["ROOM_FULL"] * (CLIENTS - 1), f"round {round_}: {losers}"
            assert winners[0]["payload"]["data"]["player"]["seat"] == size - 1
            with psycopg.connect(database_url) as conn:
                seats = [row[0] for row in conn.execute(
                    "SELECT seat FROM rooms_player WHERE room_id = %s ORDER BY seat", (room_id,))]
            assert seats == list(range(size)), f"round {round_}: seats {seats}"
    finally:
        for client in clients:
            await client.websocket.close()


@pytest.mark.parametrize("servers", [{"CLOCK_INTERVAL": 0.01}], indirect=True)
async def test_a_deadline_fires_exactly_once_with_two_clocks(servers):
    database_url, (one, two) = servers
    # A connection to each server starts both clocks.
    clients = [await Client.open(one), await Client.open(two)]
    for client in clients:
        await client.request("GET_ROOMS", {})
    count = 300
    with psycopg.connect(database_url) as conn:
        # Due in a moment, all at once, so both clocks find them in the same ticks. A
        # draft_timeout of no draft does nothing: the count is what is being checked.
        conn.execute("""INSERT INTO rooms_deadline (kind, due_at, data, fired_by, fired_count)
                        SELECT 'draft_timeout', now() + interval '1 second', '{}', '', 0
                        FROM generate_series(1, %s)""", (count,))
    try:
        async with asyncio.timeout(60):
            while True:
                with psycopg.connect(database_url) as conn:
                    left = conn.execute("SELECT count(*) FROM rooms_deadline WHERE claimed_at IS NULL").fetchone()[0]
                if left == 0:
                    break
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # let a second firing, if any, land
        with psycopg.connect(database_url) as conn:
            counts = dict(conn.execute("SELECT fired_count, count(*) FROM rooms_deadline GROUP BY fired_count").fetchall())
            firers = dict(conn.execute("SELECT fired_by, count(*) FROM rooms_deadline GROUP BY fired_by").fetchall())
        print(f"fired by: {firers}")
        assert counts == {1: count}
    finally:
        for client in clients:
            await client.websocket.close()


@pytest.mark.parametrize("servers", [{"HEARTBEAT_INTERVAL": 0.2, "HEARTBEAT_STALE": 1.5, "CLOCK_INTERVAL": 0.1}],
                         indirect=True)
async def test_a_draft_ends_when_its_creators_server_process_is_killed(servers):
    database_url, (one, two) = servers
    creator, waiter = await Client.open(one), await Client.open(two)
    draft_id = (await creator.request("START_ROOM_DRAFT", {}))["payload"]["data"]["draft_id"]
    assert (await waiter.request("WAIT_FOR_DRAFT", {"draft_id": draft_id}))["cmd"] == "WAITING_FOR_DRAFT"

    one.kill()  # no disconnect handler runs: only the stale heartbeat tells

    cancelled = await waiter.expect("DRAFT_CANCELLED")
    assert cancelled["payload"]["data"] == {"draft_id": draft_id}
    listing = await waiter.request("GET_ROOMS", {})
    assert listing["payload"]["data"]["drafts"] == []
    await waiter.websocket.close()
