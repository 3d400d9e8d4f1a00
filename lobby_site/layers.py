"""The in-memory channel layer of a single-process deployment (the default configuration)."""

import asyncio
import time

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer

from lobby_site import metrics


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    """Channels' in-memory layer, with the per-message costs that grow with a process's size taken out.

    * **Sweeps.** The stock layer sweeps every channel and every group membership of the
      process on every send and every receive, so each message cost time in proportion to the
      process's connections: with 5,000 sockets a move spent more time sweeping than playing.
      Messages expire after a minute and memberships after a day, so sweeping once a second
      keeps the same guarantees at a constant cost per message.
    * **Copies.** The stock layer deep-copies a message for every member of a group, and
      starts a task per member to do it: a change sent to 200 spectators was 200 tasks and
      200 deep copies of every frame's text list, 8% of a busy process's event loop. Here a
      group send puts the message straight into each member's queue, each member getting
      its own copy of the top-level dict only. So a consumer must treat what a message holds
      as read-only (ours do: they forward pre-encoded texts), as it would with a layer that
      hands the same decoded message to every local member.
    """

    SWEEP_EVERY = 1.0  # seconds

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._swept_at = -self.SWEEP_EVERY

    async def send(self, channel, message):
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        self._put(channel, message)

    async def group_send(self, group, message):
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            try:
                self._put(channel, message)
            except ChannelFull:
                pass  # as the stock layer does: a full member misses the message (counted below)

    def _put(self, channel: str, message: dict) -> None:
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        try:
            queue.put_nowait((time.time() + self.expiry, dict(message)))
        except asyncio.QueueFull:
            metrics.LAYER_SEND_FAILURES.labels("full").inc()
            raise ChannelFull(channel) from None

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._swept_at >= self.SWEEP_EVERY:
            self._swept_at = now
            super()._clean_expired()
