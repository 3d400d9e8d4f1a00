"""The hardened site as a browser, a bot and an attacker meet it: a real daphne with
production defaults (docs/protocol.md "Origin" and "Frame size", docs/operations.md).
"""

import asyncio
import json
import re
import urllib.error
import urllib.request

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from lobby_site.wire import check_frame
from tests.game.servers import lobby_request

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

MIB = 1024 * 1024
TIMEOUT = 20


def lobby_frame_of_size(size: int, msg_id: int = 1) -> str:
    """Return a GET_ROOMS frame padded to exactly `size` bytes."""
    head, tail = f'{{"cmd":"GET_ROOMS","msg_id":{msg_id},"payload":{{"pad":"', '"}}'
    frame = head + "x" * (size - len(head) - len(tail)) + tail
    assert len(frame.encode()) == size
    return frame


async def answer(socket, reply_to: int | None = None) -> dict:
    """Return the next frame that is not a ROOMS_CHANGED push."""
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
        check_frame(message)
        if message["cmd"] != "ROOMS_CHANGED":
            return message


# --- Origin and Host -----------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["http://evil.example", "https://127.0.0.1.evil.example", "null"])
async def test_a_foreign_origin_is_refused_with_403(site, origin):
    _, server, _ = site
    for path in ("/ws/lobby/", "/ws/rooms/1/"):
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(f"{server.ws_url}{path}", origin=origin, open_timeout=TIMEOUT)
        assert refused.value.response.status_code == 403


@pytest.mark.parametrize("origin", [None, "http://127.0.0.1:{port}", "http://localhost:8000"])
async def test_the_sites_own_origin_and_no_origin_are_served(site, origin):
    _, server, _ = site
    origin = origin and origin.format(port=server.port)
    async with websockets.connect(f"{server.ws_url}/ws/lobby/", origin=origin, open_timeout=TIMEOUT) as socket:
        await socket.send(json.dumps({"cmd": "GET_ROOMS", "msg_id": 1}))
        assert (await answer(socket))["cmd"] == "GET_ROOMS_REP"


async def test_a_foreign_host_header_is_refused_with_403(site):
    _, server, _ = site
    with pytest.raises(InvalidStatus) as refused:
        # The URL's host goes into the Host header; the connection still goes to 127.0.0.1.
        await websockets.connect(f"ws://rebound.example:{server.port}/ws/lobby/", host="127.0.0.1",
                                 port=server.port, open_timeout=TIMEOUT)
    assert refused.value.response.status_code == 403


# --- Frame size ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [16 * 1024 + 1, 64 * 1024, MIB])
async def test_a_frame_over_max_frame_up_to_1_mib_gets_too_large(site, size):
    _, server, _ = site
    async with websockets.connect(f"{server.ws_url}/ws/lobby/", open_timeout=TIMEOUT, max_size=None) as socket:
        await socket.send(lobby_frame_of_size(size))
        error = await answer(socket)
        assert error["cmd"] == "ERROR" and error["payload"]["data"]["code"] == "TOO_LARGE"
        # The connection lives on: the next frame is served.
        await socket.send(lobby_frame_of_size(16 * 1024, msg_id=2))
        assert (await answer(socket))["reply_to"] == 2


@pytest.mark.parametrize("path", ["/ws/lobby/", "/ws/rooms/1/"])
@pytest.mark.parametrize("size", [MIB + 1, 5 * MIB])
async def test_a_frame_over_1_mib_closes_the_socket_with_1009(site, path, size):
    _, server, log = site
    async with websockets.connect(f"{server.ws_url}{path}", open_timeout=TIMEOUT, max_size=None) as socket:
        await socket.send("x" * size)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(socket.recv(), TIMEOUT)
    assert closed.value.rcvd is not None, "the server dropped the connection without a close frame (1006)"
    assert closed.value.rcvd.code == 1009
    assert "Traceback" not in log.read_text()


# --- Production defaults -------------------------------------------------------------------


def get(url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_an_unknown_page_is_a_plain_404_without_debug_details(site):
    _, server, _ = site
    status, _, body = get(f"{server.http_url}/no/such/page/")
    assert status == 404
    assert "URLconf" not in body and "admin/" not in body and "Traceback" not in body


def test_pages_carry_a_content_security_policy_without_inline_allowances(site):
    _, server, _ = site
    status, headers, _ = get(f"{server.http_url}/")
    assert status == 200
    policy = headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    for name in ("default-src", "script-src", "style-src", "connect-src"):
        assert directives[name] == "'self'", policy
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe" not in policy


async def test_a_game_still_opens_through_the_origin_check(site):
    """A room made through the lobby and its seat's HELLO, with the browser's Origin header."""
    _, server, _ = site
    created = await lobby_request(server.ws_url, "CREATE_A_ROOM", {"room_name": "Guarded", "num_of_players": 2,
                                                                   "user_name": "Ann", "computers": 1})
    room_id, token = created["room"]["room_id"], created["player"]["token"]
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}/", open_timeout=TIMEOUT,
                                  origin=f"http://127.0.0.1:{server.port}") as socket:
        await socket.send(json.dumps({"cmd": "HELLO", "payload": {"token": token}}))
        assert (await answer(socket))["cmd"] == "CONNECTED"


def test_static_files_are_served_with_debug_off(site):
    """The pages' scripts and styles come from files (CSP), so they must be served without DEBUG."""
    _, server, _ = site
    for path in ("/static/js/room.js", "/static/css/site.css"):
        status, headers, _ = get(f"{server.http_url}{path}")
        assert status == 200, path


def test_the_log_holds_no_traceback(site):
    """Runs last in this module: nothing above made the server log a traceback."""
    _, _, log = site
    text = log.read_text()
    assert "Traceback" not in text
    assert not re.search(r" ERROR ", text), text[-2000:]
