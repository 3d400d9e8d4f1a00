"""The consumers' base class (lobby_site/consumers.py): no hop to the ORM thread that a handler did not ask for."""

import asyncio
import gc
import weakref

import pytest
from channels.exceptions import StopConsumer
from channels.generic import websocket as channels_websocket

from lobby_site.consumers import dispatch_in_turn

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


# --- How messages reach `dispatch` (lobby_site.consumers.dispatch_in_turn) -------------------


def queue_source(queue: asyncio.Queue, received: list):
    async def receive():
        try:
            return await queue.get()
        except asyncio.CancelledError:
            received.append("cancelled")
            raise
    return receive


async def test_a_consumer_receives_every_message_in_order_without_a_task_per_message():
    # Channels' await_many_dispatch made a task for every message received: what a socket
    # waited with between two messages outlived young garbage collections.
    client, layer = asyncio.Queue(), asyncio.Queue()
    seen: list = []
    tasks_made = 0
    loop = asyncio.get_running_loop()
    default_factory = loop.get_task_factory()

    def counting_factory(loop, coro, **kwargs):
        nonlocal tasks_made
        tasks_made += 1
        return default_factory(loop, coro, **kwargs) if default_factory else asyncio.Task(coro, loop=loop, **kwargs)

    async def dispatch(message):
        seen.append(message)
        if message == ("client", 99):
            raise StopConsumer()

    for k in range(100):
        client.put_nowait(("client", k))
        layer.put_nowait(("layer", k))
    loop.set_task_factory(counting_factory)
    try:
        with pytest.raises(StopConsumer):
            await dispatch_in_turn([queue_source(client, []), queue_source(layer, [])], dispatch)
    finally:
        loop.set_task_factory(default_factory)

    assert [m for m in seen if m[0] == "client"] == [("client", k) for k in range(100)]
    assert [m for m in seen if m[0] == "layer"] == [("layer", k) for k in range(len(seen) - 100)]
    assert tasks_made == 2  # one loop a source, for the connection's life


async def test_a_handler_never_runs_beside_another_of_the_same_consumer():
    client, layer = asyncio.Queue(), asyncio.Queue()
    running, overlaps, order = [], [], []
    first_may_end = asyncio.Event()

    async def dispatch(message):
        if running:
            overlaps.append(message)
        running.append(message)
        order.append(message)
        if message == "client 1":
            layer.put_nowait("layer 1")  # arrives while this handler waits
            await first_may_end.wait()
        running.remove(message)
        if message == "layer 1":
            raise StopConsumer()

    client.put_nowait("client 1")
    consumer = asyncio.ensure_future(dispatch_in_turn([queue_source(client, []), queue_source(layer, [])], dispatch))
    for _ in range(20):
        await asyncio.sleep(0)
    assert order == ["client 1"]  # the layer's message waits for the first handler
    first_may_end.set()
    with pytest.raises(StopConsumer):
        await asyncio.wait_for(consumer, 5)

    assert order == ["client 1", "layer 1"] and overlaps == []


async def test_a_handlers_error_ends_the_consumer_and_its_other_receive_is_cancelled():
    # The pub/sub layer unsubscribes a channel when its receive is cancelled.
    client, layer = asyncio.Queue(), asyncio.Queue()
    layer_receives: list = []

    async def dispatch(message):
        raise ValueError(f"handler failed on {message}")

    client.put_nowait("bad")
    with pytest.raises(ValueError, match="handler failed on bad"):
        await asyncio.wait_for(dispatch_in_turn([queue_source(client, []), queue_source(layer, layer_receives)],
                                                dispatch), 5)

    assert layer_receives == ["cancelled"]


async def test_a_consumer_cancelled_by_the_server_cancels_both_receives():
    client, layer = asyncio.Queue(), asyncio.Queue()
    client_receives, layer_receives = [], []

    async def dispatch(message):
        """No message comes: only what the cancellation does to the receives is looked at."""

    consumer = asyncio.ensure_future(dispatch_in_turn(
        [queue_source(client, client_receives), queue_source(layer, layer_receives)], dispatch))
    await asyncio.sleep(0.01)
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer

    assert (client_receives, layer_receives) == (["cancelled"], ["cancelled"])


async def test_a_consumer_that_ends_is_freed_at_once_not_by_a_garbage_collection():
    # A reference cycle (the exception that ended it, its traceback, the frames, the tasks)
    # kept every closed consumer until a full collection: a pause of the whole process.
    class Holder:
        async def dispatch(self, message):
            raise StopConsumer()

    client, layer = asyncio.Queue(), asyncio.Queue()
    holder = Holder()
    kept = weakref.ref(holder)
    client.put_nowait("close")
    gc.collect()
    gc.disable()
    try:
        with pytest.raises(StopConsumer):
            await dispatch_in_turn([queue_source(client, []), queue_source(layer, [])], holder.dispatch)
        del holder
        await asyncio.sleep(0)
        freed_without_collection = kept() is None
    finally:
        gc.enable()

    assert freed_without_collection
