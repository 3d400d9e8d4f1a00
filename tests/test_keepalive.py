"""Sockets opened together are not pinged together (lobby_site/handshakes.py `spread_keepalive_pings`).

Daphne pings a socket that has sent nothing for `--ping-interval`; a table's spectators send
nothing and open together, and were pinged together every interval: a burst of writes the
players' moves waited behind. A real daphne, raw sockets: when does each get its first ping?
"""

import asyncio
import base64
import os
import time

import pytest

from tests.servers import Daphne, server_env, sqlite_database

PING_INTERVAL = 4  # seconds: daphne looks every 2 s
SOCKETS = 20

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def daphne(tmp_path):
    with sqlite_database(tmp_path) as url:
        server = Daphne(server_env(url), log_path=tmp_path / "daphne.log",
                        daphne_args=("--ping-interval", str(PING_INTERVAL))).start()
        try:
            yield server
        finally:
            server.stop()


async def seconds_to_first_ping(port: int) -> float:
    """Open a lobby socket by hand and return how long after its handshake daphne pinged it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws/lobby/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    try:
        response = await reader.readuntil(b"\r\n\r\n")
        assert response.startswith(b"HTTP/1.1 101"), response
        opened = time.monotonic()
        while True:  # the server's frames are not masked
            head = await reader.readexactly(2)
            length = head[1] & 0x7F
            if length == 126:
                length = int.from_bytes(await reader.readexactly(2), "big")
            elif length == 127:
                length = int.from_bytes(await reader.readexactly(8), "big")
            await reader.readexactly(length)
            if head[0] & 0x0F == 0x9:  # ping
                return time.monotonic() - opened
    finally:
        writer.close()


async def test_sockets_opened_together_get_their_first_pings_at_spread_times_within_one_interval(daphne):
    waits = await asyncio.wait_for(
        asyncio.gather(*(seconds_to_first_ping(daphne.port) for _ in range(SOCKETS))), timeout=3 * PING_INTERVAL)

    assert max(waits) <= PING_INTERVAL + 2.5  # never later than an interval and daphne's 2 s look
    assert max(waits) - min(waits) >= 1.0, sorted(waits)  # together, they were pinged in one look
