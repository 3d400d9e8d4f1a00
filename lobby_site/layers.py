"""The in-memory channel layer of a single-process deployment (the default configuration)."""

import time

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer

from lobby_site import metrics


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    """Channels' in-memory layer, sweeping out expired messages and memberships once a second.

    The stock layer sweeps every channel and every group membership of the process on every
    send and every receive, so each message cost time in proportion to the process's
    connections: with 5,000 sockets a move spent more time sweeping than playing. Messages
    expire after a minute and memberships after a day, so sweeping once a second keeps the
    same guarantees at a constant cost per message.
    """

    SWEEP_EVERY = 1.0  # seconds

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._swept_at = -self.SWEEP_EVERY

    async def send(self, channel, message):
        # A full channel drops the message (group_send passes over ChannelFull): count it.
        try:
            await super().send(channel, message)
        except ChannelFull:
            metrics.LAYER_SEND_FAILURES.labels("full").inc()
            raise

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._swept_at >= self.SWEEP_EVERY:
            self._swept_at = now
            super()._clean_expired()
