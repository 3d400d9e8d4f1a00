"""The default configuration's in-memory channel layer: Channels' own, sweeping once a second."""

import asyncio

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer

from lobby_site.layers import InMemoryChannelLayer


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
