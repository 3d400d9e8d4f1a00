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


async def _round_trip(layer) -> None:
    channel = await layer.new_channel()
    nonce = uuid.uuid4().hex
    await layer.send(channel, {"type": "healthz.ping", "nonce": nonce})
    message = await layer.receive(channel)
    if message.get("nonce") != nonce:
        raise RuntimeError("received a different message")


async def _check_channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        return "error: not configured"
    try:
        await asyncio.wait_for(_round_trip(layer), CHANNEL_LAYER_TIMEOUT)
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
