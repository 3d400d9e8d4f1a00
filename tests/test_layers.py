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
