"""Lobby page and health check."""
import asyncio
import logging
import uuid

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connections
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

CHANNEL_LAYER_TIMEOUT = 3.0  # seconds; a healthy layer answers in milliseconds


def lobby(request):
    """Render the lobby page."""
    return render(request, "rooms/lobby.html")


def _failure(part: str, exc: BaseException) -> str:
    # Only the exception type goes out: messages may name hosts or credentials.
    logger.warning("healthz: %s check failed: %r", part, exc)
    return f"error: {type(exc).__name__}"


def _select_one() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _check_db() -> str:
    try:
        await sync_to_async(_select_one)()
    except Exception as exc:
        return _failure("db", exc)
    return "ok"


class _Probe:
    """The channel a process's health checks send to themselves, made once per layer and loop.

    Channels has no call that deletes a channel, and the pub/sub layer keeps every channel
    made by new_channel() subscribed for good: a fresh one per check leaked one Redis
    subscription per /healthz call. One probe channel per process stays subscribed instead.
    """

    def __init__(self, layer, loop):
        self.layer, self.loop = layer, loop
        self.lock = asyncio.Lock()  # one check at a time on the channel, so answers never cross
        self.channel: str | None = None

    async def round_trip(self) -> None:
        async with self.lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
            nonce = uuid.uuid4().hex
            await self.layer.send(self.channel, {"type": "healthz.ping", "nonce": nonce})
            try:
                # An earlier check that timed out may have left its message behind: skip it.
                while (await self.layer.receive(self.channel)).get("nonce") != nonce:
                    continue
            except asyncio.CancelledError:
                # The pub/sub layer unsubscribes a channel whose receive is cancelled (the
                # timeout): the next check needs a new one, subscribed before its send.
                self.channel = None
                raise


_probe: _Probe | None = None


def _probe_for(layer) -> _Probe:
    global _probe
    loop = asyncio.get_running_loop()
    # Under daphne there is one layer and one loop; tests and async_to_sync make new ones.
    if _probe is None or _probe.layer is not layer or _probe.loop is not loop:
        _probe = _Probe(layer, loop)
    return _probe


async def _check_channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        return "error: not configured"
    try:
        await asyncio.wait_for(_probe_for(layer).round_trip(), CHANNEL_LAYER_TIMEOUT)
    except Exception as exc:  # TimeoutError included
        return _failure("channel_layer", exc)
    return "ok"


@never_cache
async def healthz(request):
    """Report whether the database and the channel layer work: 200 if both, else 503."""
    db, channel_layer = await asyncio.gather(_check_db(), _check_channel_layer())
    checks = {"db": db, "channel_layer": channel_layer}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)
