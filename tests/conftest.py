"""Fixtures shared by the whole suite."""
import os
import socket
import uuid

import pytest
import redis
from channels import layers as channels_layers

MEMORY_LAYER = "lobby_site.layers.InMemoryChannelLayer"  # the default configuration's layer
REDIS_LAYER = os.environ.get("CHANNEL_LAYER_BACKEND", "lobby_site.layers.RedisPubSubChannelLayer")
# One key prefix per run, so runs sharing a Redis database never see each other's keys.
REDIS_PREFIX = f"test-{os.getpid()}-{uuid.uuid4().hex[:8]}-"



def pytest_configure(config):
    """Close this process's database connections after every call, as CONN_MAX_AGE 0 does.

    Servers keep theirs (DB_CONN_MAX_AGE), but in the test process a connection held by
    Channels' worker thread would keep the test database open and its teardown would fail.
    """
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, and before it is dropped, the connections of the ORM thread
    and of the moves' threads closed.

    Channels' worker thread closes its connection after each call (CONN_MAX_AGE 0, above),
    but not when the call ends outside a test's database access: a server clock's tick still
    running as its test ends finds access blocked when it checks the connection, so that
    connection stays open, and the test database could not be dropped at the end of the run
    ("being accessed by other users"), leaving it on the server.
    """
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    from lobby_site import consumers

    with django_db_blocker.unblock():
        SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)
        moves = consumers._move_threads  # the moves' threads (DB_THREADS), each with its own connection
        if moves is not None:
            moves.on_every_thread(connections.close_all)


@pytest.fixture(autouse=True)
def forget_kept_games():
    """Start every test without the games an earlier one's moves kept in this process.

    A kept game stands for its room id, and a rolled-back test database gives ids out again.
    """
    from game.store import game_forget_kept

    game_forget_kept()
    yield


def closed_port() -> int:
    """Return a local TCP port on which nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flush_redis(url: str, prefix: str = REDIS_PREFIX) -> None:
    """Delete every key under prefix in the Redis database at url."""
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def reset_channel_layers() -> None:
    """Forget the cached channel layer instances, so the next use reads CHANNEL_LAYERS."""
    channels_layers.channel_layers.backends.clear()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Return the Redis URL for tests: TEST_REDIS_URL, else a local database picked per run."""
    return os.environ.get("TEST_REDIS_URL") or f"redis://127.0.0.1:6379/{1 + os.getpid() % 15}"


@pytest.fixture(params=["memory", "redis"])
def channel_layers(request, settings):
    """Run the test once on the in-memory and once on the Redis channel layer.

    Yield the kind ("memory" or "redis"); get_channel_layer() returns a fresh layer of it.
    """
    kind = request.param
    if kind == "redis":
        url = request.getfixturevalue("redis_url")
        flush_redis(url)
        # socket_timeout None: see CHANNEL_LAYERS in settings.py (django/channels_redis#422).
        host = {"address": url, "socket_timeout": None}
        layer = {"BACKEND": REDIS_LAYER, "CONFIG": {"hosts": [host], "prefix": REDIS_PREFIX}}
    else:
        layer = {"BACKEND": MEMORY_LAYER}
    reset_channel_layers()
    settings.CHANNEL_LAYERS = {"default": layer}
    yield kind
    reset_channel_layers()
    if kind == "redis":
        flush_redis(url)
