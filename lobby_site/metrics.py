"""`GET /metrics` in Prometheus' text format (docs/operations.md "Metrics").

Counting is cheap: module-level prometheus-client counters, gauges and a histogram,
incremented in the code paths that already run (a consumer's accept and end, a move's
answer, an ERROR frame, a fired deadline, a failed group send) — no query, no lock beyond
the client library's own. Each process counts its own and serves its own registry (no
multiprocess mode): scrape every daphne process at its own port.

The page is off unless METRICS_ENABLED (404), and then served only to the client addresses
in METRICS_ADDRESSES (403 for others), read with the same `client_address` as the admin
lockout and the per-address limits.
"""

from __future__ import annotations

import gc
import logging
import sys
import time

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseForbidden
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

from lobby_site.security import _ip, client_address

CONNECTIONS = Gauge("discard_connections", "Open WebSocket connections of this process, by kind.", ["kind"])
MOVES = Counter("discard_moves", "Moves (GAME_MESSAGE answers) accepted by this process.")
MOVE_SECONDS = Histogram(
    "discard_move_seconds", "Time from a move's frame to its saved change (read, engine, write), in seconds.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
SAVE_CONFLICTS = Counter(
    "discard_save_conflicts",
    "Game changes made again from a read: their save lost the compare-and-set (the game had moved on).")
ERRORS = Counter("discard_errors", "ERROR frames sent, by code.", ["code"])
DEADLINES_FIRED = Counter("discard_deadlines_fired", "Deadlines this process claimed and fired, by kind.", ["kind"])
LAYER_SEND_FAILURES = Counter("discard_channel_layer_send_failures",
                              "Group sends that failed (Redis errors) or were dropped (a full in-memory channel).",
                              ["reason"])
GROUP_SEND_BATCH = Histogram(
    "discard_group_send_batch", "Sends the process's outbox made in one batch (one channel-layer round trip).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
SENDS_TO_CLOSING_SOCKETS = Counter("discard_sends_to_closing_sockets",
                                   "Frames dropped because their socket's client was already closing it.")

GC_PAUSE_SECONDS = Histogram(
    "discard_gc_pause_seconds", "Pauses of Python's cyclic garbage collector (the whole process waits), by generation.",
    ["generation"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0))
GC_PAUSE_LOGGED = 0.1  # seconds: a longer collection is logged (a stall every socket of the process feels)

logger = logging.getLogger(__name__)

CONNECTION_KINDS = ("lobby", "game", "watch")
for _kind in CONNECTION_KINDS:  # every series from the start, at 0
    CONNECTIONS.labels(_kind)
for _reason in ("error", "full"):
    LAYER_SEND_FAILURES.labels(_reason)


_gc_started = 0.0


def _gc_timed(phase: str, info: dict) -> None:
    """Time every collection (gc.callbacks): with thousands of sockets a full one can stall the loop."""
    global _gc_started
    if phase == "start":
        _gc_started = time.perf_counter()
        return
    pause = time.perf_counter() - _gc_started
    GC_PAUSE_SECONDS.labels(str(info["generation"])).observe(pause)
    # Not while the interpreter shuts down: its last collections come after the log's streams closed.
    if pause >= GC_PAUSE_LOGGED and not sys.is_finalizing():
        logger.warning("garbage collection (generation %d) paused the process for %.0f ms; %d objects collected",
                       info["generation"], 1000 * pause, info["collected"])


if _gc_timed not in gc.callbacks:
    gc.callbacks.append(_gc_timed)


def error_counted(frame: dict) -> dict:
    """Count an ERROR frame about to be sent (by its code) and return it."""
    ERRORS.labels(frame["payload"]["data"]["code"]).inc()
    return frame


def _allowed(address: str | None) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in network for network in settings.METRICS_NETWORKS)


def metrics(request):
    """Serve this process's metrics: 404 unless METRICS_ENABLED, 403 outside METRICS_ADDRESSES."""
    if not settings.METRICS_ENABLED:
        raise Http404
    if not _allowed(client_address(request)):
        return HttpResponseForbidden("metrics are not served to this address\n", content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
