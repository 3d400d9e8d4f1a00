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


async def test_a_frame_for_a_socket_its_client_is_closing_is_dropped_and_the_consumer_lives_on_to_its_disconnect():
    # Between the client's close frame and the end of the TCP connection, daphne hands a send
    # to autobahn, which raises Disconnected (seen at the end of every loadtest). Raised, it
    # ended the consumer before its websocket.disconnect left the groups.
    from autobahn.exception import Disconnected

    from lobby_site import metrics
    from rooms.consumers import LobbyConsumer

    sent = []

    async def closing_socket(message):
        sent.append(message)
        raise Disconnected("Attempt to send on a closed protocol")

    consumer = LobbyConsumer()
    consumer.base_send = closing_socket
    dropped_before = metrics.SENDS_TO_CLOSING_SOCKETS._value.get()

    await consumer.send(text_data='{"cmd": "ROOMS_CHANGED"}')

    assert sent == [{"type": "websocket.send", "text": '{"cmd": "ROOMS_CHANGED"}'}]
    assert metrics.SENDS_TO_CLOSING_SOCKETS._value.get() == dropped_before + 1
