"""Fixtures of the lobby tests: fast clocks and lobby connections that are always closed."""

import pytest

from rooms.clock import stop_clock
from tests.lobby.helpers import LobbyClient


@pytest.fixture(autouse=True)
def fast_time(settings):
    """Tick the clock often and sweep at every tick, so deadlines fire and dead processes end soon after they are due."""
    settings.CLOCK_INTERVAL = 0.05
    settings.SWEEP_INTERVAL = 0


@pytest.fixture
async def lobby(channel_layers, transactional_db):
    """Return a function that opens lobby connections; all are closed and the clock stopped after."""
    clients: list[LobbyClient] = []

    async def open_lobby(address: str | None = None, headers: list | None = None) -> LobbyClient:
        client = await LobbyClient(address, headers).connect()
        clients.append(client)
        return client

    yield open_lobby
    for client in clients:
        await client.close()
    await stop_clock()
