"""The channel layers: in memory for a single process (the default configuration), Redis
pub/sub for several.

Both take a batch of sends at once (`send_many`), which is how the outbox of
rooms/notify.py hands over what the services queued after their commits.
"""

import asyncio
import time

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer
from channels_redis import pubsub

from lobby_site import metrics

# A send as the outbox queues it: a group's name (or, when the flag is set, one channel's
# name) and the message.
Send = tuple[str, dict, bool]


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

    async def send_many(self, sends: list[Send]) -> None:
        """Send each of `sends` in order (nothing here waits on a network)."""
        for name, message, to_channel in sends:
            try:
                await (self.send(name, message) if to_channel else self.group_send(name, message))
            except ChannelFull:
                pass  # counted by _put; the rest of the batch still goes out

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._swept_at >= self.SWEEP_EVERY:
            self._swept_at = now
            super()._clean_expired()


class RedisPubSubChannelLayer(pubsub.RedisPubSubChannelLayer):
    """channels-redis's pub/sub layer, with a batch of sends published in one round trip.

    The stock layer publishes one message at a time and holds its connection's lock until
    Redis has answered, so a process sent at most one message per round trip — and under
    load a round trip is an event-loop turn or more. At 5,000 players on two processes the
    sends queued behind one another: the moves were saved within ~11 ms but reached their
    players hundreds of milliseconds later (bench/README.md, nineteenth session).
    `send_many` publishes a batch through one pipeline per shard, under the same lock, in
    the order given: Redis runs a connection's commands in order, so each group still
    receives its messages in the order they were sent.

    A message a process receives for a group is also decoded once, not once per member:
    channels-redis puts the same bytes into every local member's queue and each member's
    `receive` decoded them, so a move's room message (every seat's frames) was decoded once
    for each of the table's seats. Each member gets its own copy of the top-level dict, as
    with the in-memory layer above, so what a message holds is read-only to its consumers.
    """

    DECODED_KEPT = 64  # the last messages decoded, kept for their other local members

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._decoded: dict[int, tuple[bytes, dict]] = {}  # by id() of the bytes, which the entry keeps alive

    def deserialize(self, message: bytes) -> dict:
        entry = self._decoded.get(id(message))
        if entry is None or entry[0] is not message:
            entry = self._decoded[id(message)] = (message, super().deserialize(message))
            if len(self._decoded) > self.DECODED_KEPT:
                del self._decoded[next(iter(self._decoded))]
        return dict(entry[1])

    async def send_many(self, sends: list[Send]) -> None:
        layer = self._get_layer()  # this event loop's connections (channels-redis 4.3 internals)
        by_shard: dict = {}
        for name, message, to_channel in sends:
            channel = name if to_channel else layer._get_group_channel_name(name)
            by_shard.setdefault(layer._get_shard(channel), []).append((channel, self.serialize(message)))
        for shard, publishes in by_shard.items():
            async with shard._lock:
                shard._ensure_redis()
                if len(publishes) == 1:  # most batches below full load: a pipeline costs more than it saves
                    await shard._redis.publish(*publishes[0])
                    continue
                async with shard._redis.pipeline(transaction=False) as pipe:
                    for channel, data in publishes:
                        pipe.publish(channel, data)
                    await pipe.execute()
