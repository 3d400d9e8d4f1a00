"""GET /metrics (docs/operations.md "Metrics"): off by default, then served only to listed
addresses; the counters move in the code paths that already run."""

import gc
import json
import logging

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from prometheus_client import REGISTRY

from lobby_site import metrics
from lobby_site.security import parse_networks
from rooms import services
from rooms.clock import stop_clock
from tests.game.conftest import connect, make_room  # noqa: F401  (seats over real consumers)
from tests.lobby.helpers import LobbyClient

pytestmark = pytest.mark.django_db(transaction=True)


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_ENABLED = True
    settings.METRICS_NETWORKS = parse_networks(["127.0.0.1", "10.1.0.0/16"])
    return settings


def test_metrics_are_off_by_default(client, settings):
    assert settings.METRICS_ENABLED is False
    assert client.get("/metrics").status_code == 404


def test_metrics_are_served_to_listed_addresses_only(client, metrics_on):
    page = client.get("/metrics")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/plain")
    text = page.content.decode()
    for series in ('discard_connections{kind="lobby"}', 'discard_connections{kind="game"}',
                   'discard_connections{kind="watch"}', "discard_moves_total", "discard_move_seconds_bucket",
                   'discard_channel_layer_send_failures_total{reason="full"}'):
        assert series in text, series
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200  # a listed network
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1").status_code == 403


def test_the_address_is_the_client_address_of_the_limits(client, metrics_on):
    metrics_on.TRUSTED_PROXY_NETWORKS = parse_networks(["127.0.0.1"])
    # Through our proxy: the forwarded client counts, not the proxy.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="192.0.2.1").status_code == 403
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.9.9").status_code == 200
    # From an untrusted peer, a forged header changes nothing.
    metrics_on.TRUSTED_PROXY_NETWORKS = []
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403


async def test_connections_and_errors_are_counted(channel_layers):
    open_before, errors_before = value("discard_connections", kind="lobby"), value("discard_errors_total",
                                                                                  code="BAD_JSON")
    client = await LobbyClient().connect()
    assert value("discard_connections", kind="lobby") == open_before + 1
    await client.send_raw("{not json")
    await client.expect("ERROR")
    assert value("discard_errors_total", code="BAD_JSON") == errors_before + 1
    await client.close()
    await stop_clock()
    assert value("discard_connections", kind="lobby") == open_before


async def test_moves_and_their_latency_are_counted(make_room_and_seat):
    seat = make_room_and_seat
    moves, observed = value("discard_moves_total"), value("discard_move_seconds_count")
    while not seat.prompt:
        await seat.receive()
    await seat.answer()
    while seat.prompt is None and seat.over is None:
        await seat.receive()
    assert value("discard_moves_total") == moves + 1
    assert value("discard_move_seconds_count") == observed + 1
    assert value("discard_connections", kind="game") >= 1


@pytest.fixture
async def make_room_and_seat(make_room, connect, settings):
    settings.GAME_SEED, settings.RATE_LIMIT = 20240611, 1000
    room_id, tokens = await make_room(2, computers=1)
    seat = await connect(room_id, tokens[0])
    await seat.hello()
    await seat.skip_to("GAME_BEGIN")
    return seat


def test_fired_deadlines_are_counted_once_committed(settings):
    from django.utils import timezone

    before = value("discard_deadlines_fired_total", kind="metrics_probe")
    pk = services.deadline_schedule(kind="metrics_probe", due_at=timezone.now())
    assert services.deadline_fire(deadline_id=pk, handler_for=lambda kind: lambda deadline: None)
    assert not services.deadline_fire(deadline_id=pk, handler_for=lambda kind: lambda deadline: None)
    assert value("discard_deadlines_fired_total", kind="metrics_probe") == before + 1


async def test_a_full_in_memory_channel_counts_a_dropped_send(settings):
    from tests.conftest import MEMORY_LAYER, reset_channel_layers

    reset_channel_layers()
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": MEMORY_LAYER, "CONFIG": {"capacity": 1}}}
    try:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("metrics-probe", channel)
        before = value("discard_channel_layer_send_failures_total", reason="full")
        for k in range(3):
            await layer.group_send("metrics-probe", {"type": "probe", "k": k})
        assert value("discard_channel_layer_send_failures_total", reason="full") == before + 2
        assert json.dumps(await layer.receive(channel))  # the first one arrived
    finally:
        reset_channel_layers()


def test_a_full_garbage_collection_is_timed_by_generation(caplog, monkeypatch):
    def count():
        return value("discard_gc_pause_seconds_count", generation="2")

    before = count()
    gc.collect()  # a full collection runs the callbacks like an automatic one
    assert count() == before + 1

    monkeypatch.setattr(metrics, "GC_PAUSE_LOGGED", 0.0)
    with caplog.at_level(logging.WARNING, logger="lobby_site.metrics"):
        gc.collect()
    assert any("garbage collection (generation 2)" in record.getMessage() for record in caplog.records)
