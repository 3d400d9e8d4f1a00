"""Limits per address and /metrics on a real daphne with the default limits
(docs/security.md "Limits per address", docs/operations.md "Metrics")."""

import asyncio
import json
import urllib.error
import urllib.request

import pytest
import websockets

from lobby_site.wire import check_frame
from tests.servers import Daphne, postgres_database, server_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

TIMEOUT = 20


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """A daphne with the default limits (5 rooms, 2 drafts per address), metrics on for 127.0.0.1,
    and 127.0.0.1 a trusted proxy (so a test can speak for other clients with X-Forwarded-For)."""
    log = tmp_path_factory.mktemp("limited") / "daphne.log"
    with postgres_database() as database_url:
        env = server_env(database_url, ROOMS_PER_ADDRESS=5, DRAFTS_PER_ADDRESS=2, METRICS_ENABLED="true",
                         METRICS_ADDRESSES="127.0.0.1", TRUSTED_PROXIES="127.0.0.1", ROOMMATE_INTERVAL=60)
        with Daphne(env, log_path=log) as server:
            yield server, log


async def answer(socket, msg_id: int) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
        check_frame(message)
        if message["reply_to"] == msg_id:
            return message


async def command(socket, msg_id: int, cmd: str, payload: dict) -> dict:
    await socket.send(json.dumps({"cmd": cmd, "msg_id": msg_id, "payload": payload}))
    return await answer(socket, msg_id)


def scrape(server) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=TIMEOUT) as response:
        assert response.status == 200
        return response.read().decode()


def sample(text: str, series: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(series + " ")]
    return float(lines[0].split()[-1]) if lines else 0.0


async def test_five_rooms_and_two_drafts_per_address_then_limit_reached(limited):
    server, log = limited
    refused_before = sample(scrape(server), 'discard_errors_total{code="LIMIT_REACHED"}')
    url = f"{server.ws_url}/ws/lobby/"
    async with websockets.connect(url, open_timeout=TIMEOUT) as first, \
            websockets.connect(url, open_timeout=TIMEOUT) as second, \
            websockets.connect(url, open_timeout=TIMEOUT) as third:
        answers = []
        for k in range(6):  # from two sockets: the limit is the address's, not the socket's
            socket = first if k % 2 else second
            answers.append(await command(socket, k + 1, "CREATE_A_ROOM", {
                "room_name": f"Limit {k}", "num_of_players": 2, "user_name": "Ann"}))
        assert [a["cmd"] for a in answers] == ["CREATE_A_ROOM_REP"] * 5 + ["ERROR"]
        assert answers[-1]["payload"]["data"] == {"code": "LIMIT_REACHED", "field": "rooms_per_address"}

        drafts = [await command(s, 10 + k, "START_ROOM_DRAFT", {}) for k, s in enumerate((first, second, third))]
        assert [d["cmd"] for d in drafts] == ["DRAFT_STARTED", "DRAFT_STARTED", "ERROR"]
        assert drafts[-1]["payload"]["data"] == {"code": "LIMIT_REACHED", "field": "drafts_per_address"}

        text = scrape(server)
        assert sample(text, 'discard_errors_total{code="LIMIT_REACHED"}') == refused_before + 2
        assert sample(text, 'discard_connections{kind="lobby"}') >= 3
    assert "Traceback" not in log.read_text()


async def test_behind_the_proxy_each_forwarded_client_has_its_own_limit(limited):
    server, _ = limited
    url = f"{server.ws_url}/ws/lobby/"
    for client, expected in (("198.51.100.1", 2), ("198.51.100.2", 2)):
        headers = {"X-Forwarded-For": f"203.0.113.77, {client}"}  # the left entry is the client's own claim
        async with websockets.connect(url, open_timeout=TIMEOUT, additional_headers=headers) as a, \
                websockets.connect(url, open_timeout=TIMEOUT, additional_headers=headers) as b, \
                websockets.connect(url, open_timeout=TIMEOUT, additional_headers=headers) as c:
            drafts = [await command(s, 1, "START_ROOM_DRAFT", {}) for s in (a, b, c)]
            assert [d["cmd"] for d in drafts].count("DRAFT_STARTED") == expected
            assert drafts[-1]["payload"]["data"]["code"] == "LIMIT_REACHED"


def test_metrics_are_refused_to_an_address_not_listed(limited):
    server, _ = limited
    assert scrape(server)  # 127.0.0.1 is listed
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/metrics",
                                     headers={"X-Forwarded-For": "192.0.2.1"})  # a client behind the proxy
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=TIMEOUT)
    assert refused.value.code == 403
