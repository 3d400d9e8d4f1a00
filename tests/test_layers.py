"""The channel layers of lobby_site/layers.py: the in-memory one (Channels' own, sweeping once a
second) and both layers' batches of sends."""

import asyncio

import pytest
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer
from channels.layers import get_channel_layer

from lobby_site import metrics
from lobby_site.layers import InMemoryChannelLayer, RedisPubSubChannelLayer
from rooms import notify
from tests.conftest import REDIS_PREFIX, flush_redis, reset_channel_layers


class CountingStockLayer(ChannelsInMemoryChannelLayer):
    """Channels' layer, counting its full sweeps (each walks every channel and membership)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sweeps = 0

    def _clean_expired(self):
        self.sweeps += 1
        super()._clean_expired()


class Probe(InMemoryChannelLayer, CountingStockLayer):
    """The project's layer over the counting one: its sweeps are the stock sweeps it lets through."""


async def test_a_second_of_messages_costs_one_sweep_of_every_connection():
    layer, stock = Probe(), CountingStockLayer()
    for each in (layer, stock):
        channels = [await each.new_channel() for _ in range(50)]
        for channel in channels:
            await each.group_add("table", channel)
        for _ in range(20):
            await each.group_send("table", {"type": "x"})
        for channel in channels:
            assert (await asyncio.wait_for(each.receive(channel), 1))["type"] == "x"
    assert stock.sweeps >= 70  # the stock layer sweeps on every send and receive
    assert layer.sweeps == 1  # the same 70 calls within a second: one sweep


async def test_messages_still_expire():
    layer = Probe(expiry=0.05)
    layer.SWEEP_EVERY = 0.01
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "old"})
    await asyncio.sleep(0.1)
    await layer.group_send("nobody", {"type": "any"})  # a call that sweeps
    assert channel not in layer.channels
    assert layer.sweeps == 1


async def test_a_group_send_reaches_every_member_each_with_its_own_message():
    layer = InMemoryChannelLayer()
    members = [await layer.new_channel() for _ in range(200)]
    for member in members:
        await layer.group_add("watch.1", member)
    await layer.group_send("watch.1", {"type": "watch.frames", "texts": ["a", "b"], "first": 7})
    received = [await asyncio.wait_for(layer.receive(member), 1) for member in members]
    assert all(message == {"type": "watch.frames", "texts": ["a", "b"], "first": 7} for message in received)
    received[0]["type"] = "changed by its consumer"
    assert received[1]["type"] == "watch.frames"


async def test_a_full_member_misses_a_group_message_and_the_others_still_get_it():
    layer = InMemoryChannelLayer(capacity=1)
    full, other = await layer.new_channel(), await layer.new_channel()
    await layer.send(full, {"type": "first"})
    for member in (full, other):
        await layer.group_add("room.1", member)
    await layer.group_send("room.1", {"type": "second"})
    assert (await layer.receive(other))["type"] == "second"
    assert (await layer.receive(full))["type"] == "first"
    assert full not in layer.channels  # nothing more was queued for it


# --- Batches of sends (the outbox of rooms/notify.py) ----------------------------------------


def redis_layer(redis_url):
    return RedisPubSubChannelLayer(hosts=[{"address": redis_url, "socket_timeout": None}], prefix=REDIS_PREFIX)


@pytest.fixture
def writes_to_redis(monkeypatch):
    """Count the writes redis-py makes to Redis sockets (each a round trip's request), the real
    writes still made."""
    from redis.asyncio.connection import AbstractConnection

    counted = {"writes": 0}
    real = AbstractConnection.send_packed_command

    async def counting(self, command, check_health=True):
        counted["writes"] += 1
        return await real(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return counted


async def test_a_batch_of_sends_reaches_each_group_and_channel_in_order_in_one_round_trip(redis_url,
                                                                                       writes_to_redis):
    flush_redis(redis_url)
    layer = redis_layer(redis_url)
    try:
        first, second = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("room.1", first)
        await layer.group_add("room.1", second)
        await layer.group_add("room.2", second)
        sends = []
        for n in range(60):
            sends.append(("room.1", {"type": "room.frames", "n": n}, False))
            sends.append(("room.2", {"type": "room.frames", "n": 1000 + n}, False))
            if n % 10 == 0:
                sends.append((first, {"type": "seat.private", "n": 2000 + n}, True))
        await layer.send_many([("nobody", {"type": "x"}, False)])  # opens the connection (its handshake's writes)
        before = writes_to_redis["writes"]
        await layer.send_many(sends)
        assert writes_to_redis["writes"] - before == 1  # one pipeline: a stock group_send each would be 126

        async def drain(channel, count):
            return [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(count)]

        assert await drain(first, 66) == [m["n"] for name, m, _ in sends if name in ("room.1", first)]
        assert await drain(second, 120) == [m["n"] for name, m, _ in sends if name in ("room.1", "room.2")]
    finally:
        await layer.flush()
        flush_redis(redis_url)


async def test_a_group_message_is_decoded_once_for_all_the_processs_members_each_with_its_own_dict(redis_url,
                                                                                                  monkeypatch):
    flush_redis(redis_url)
    layer = redis_layer(redis_url)
    decoded = []
    real = layer._serializer.deserialize
    monkeypatch.setattr(layer._serializer, "deserialize", lambda raw: decoded.append(raw) or real(raw))
    try:
        seats = [await layer.new_channel() for _ in range(4)]
        for seat in seats:
            await layer.group_add("room.7", seat)
        for n in range(3):
            await layer.group_send("room.7", {"type": "room.frames", "seats": {"0": {"texts": [f"move {n}"]}}})
        received = [[await asyncio.wait_for(layer.receive(seat), 5) for _ in range(3)] for seat in seats]
        for n in range(3):
            messages = [of_seat[n] for of_seat in received]
            assert all(message == {"type": "room.frames", "seats": {"0": {"texts": [f"move {n}"]}}}
                       for message in messages)
            assert len({id(message) for message in messages}) == 4  # a member may add to its own dict
        assert len(decoded) == 3  # one decode a message, not one a member
    finally:
        await layer.flush()
        flush_redis(redis_url)


async def test_the_memory_layers_batch_delivers_in_order_and_a_full_member_does_not_stop_it():
    layer = InMemoryChannelLayer(capacity=3)
    full, other = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room.1", full)
    await layer.group_add("room.1", other)
    await layer.send_many([(full, {"type": "x", "n": n}, True) for n in range(3)]
                          + [("room.1", {"type": "x", "n": n}, False) for n in range(3, 6)])
    assert [(await layer.receive(full))["n"] for _ in range(3)] == [0, 1, 2]  # the group's were dropped for it
    assert [(await layer.receive(other))["n"] for _ in range(3)] == [3, 4, 5]


def batches_observed() -> tuple[float, float]:
    """(batches, sends) the outboxes of this process have counted (discard_group_send_batch)."""
    samples = {s.name: s.value for metric in metrics.GROUP_SEND_BATCH.collect() for s in metric.samples}
    return samples["discard_group_send_batch_count"], samples["discard_group_send_batch_sum"]


async def test_sends_queued_in_one_turn_of_the_loop_go_out_as_one_batch_in_order(channel_layers):
    layer = get_channel_layer()
    member = await layer.new_channel()
    await layer.group_add("room.7", member)
    batches, sends = batches_observed()
    for n in range(50):  # as the services' after-commit sends arrive: many between two turns of the loop
        notify._enqueue("room.7", {"type": "room.frames", "n": n})
    await notify.sends_flushed()
    received = [(await asyncio.wait_for(layer.receive(member), 5))["n"] for _ in range(50)]
    assert received == list(range(50))
    assert batches_observed() == (batches + 1, sends + 50)
    if channel_layers == "redis":
        await layer.flush()


async def test_on_channels_redis_own_layer_the_outbox_sends_a_batch_one_by_one_in_order(redis_url, settings):
    """CHANNEL_LAYER_BACKEND may name channels-redis's pub/sub layer, which has no `send_many`."""
    flush_redis(redis_url)
    reset_channel_layers()
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {
        "hosts": [{"address": redis_url, "socket_timeout": None}], "prefix": REDIS_PREFIX}}}
    try:
        layer = get_channel_layer()
        assert not hasattr(layer, "send_many")
        member = await layer.new_channel()
        await layer.group_add("room.8", member)
        for n in range(20):
            notify._enqueue("room.8", {"type": "room.frames", "n": n})
            notify._enqueue(member, {"type": "seat.private", "n": 100 + n}, to_channel=True)
        await notify.sends_flushed()
        received = [(await asyncio.wait_for(layer.receive(member), 5))["n"] for _ in range(40)]
        assert received == [m for n in range(20) for m in (n, 100 + n)]
        await layer.flush()
    finally:
        reset_channel_layers()
        flush_redis(redis_url)


def test_redis_replies_are_parsed_by_hiredis():
    """Every group message a process receives is a Redis reply: redis-py parses them in C when
    hiredis is installed (requirements.txt), in Python otherwise."""
    from redis.asyncio.connection import DefaultParser

    assert DefaultParser.__name__ == "_AsyncHiredisParser"
