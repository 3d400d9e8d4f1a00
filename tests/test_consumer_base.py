"""The consumers' base class (lobby_site/consumers.py): no hop to the ORM thread that a handler did not ask for."""

import pytest
from channels.generic import websocket as channels_websocket

from tests.lobby.helpers import LobbyClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def orm_hops(monkeypatch):
    """Count Channels' own hops to the ORM thread to close stale database connections."""
    hops = []

    async def counted():
        hops.append(1)

    monkeypatch.setattr(channels_websocket, "aclose_old_connections", counted)
    return hops


async def test_a_socket_that_closes_does_not_queue_work_on_the_orm_thread(channel_layers, orm_hops):
    client = await LobbyClient().connect()

    await client.close()

    assert orm_hops == []


async def test_a_socket_that_closes_still_runs_its_disconnect_handler(channel_layers, monkeypatch):
    from rooms.consumers import LobbyConsumer

    codes = []
    original = LobbyConsumer.disconnect

    async def recorded(self, code):
        codes.append(code)
        await original(self, code)

    monkeypatch.setattr(LobbyConsumer, "disconnect", recorded)
    client = await LobbyClient().connect()

    await client.close()

    assert codes == [1000]
