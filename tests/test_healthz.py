"""GET /healthz against real databases and channel layers; failures are real, not mocked."""
import dj_database_url
from asgiref.sync import sync_to_async
import pytest
import redis.asyncio
from django.db import connections
from django.db.utils import load_backend

from tests.conftest import REDIS_PREFIX, closed_port, reset_channel_layers

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_database():
    """Point the default connection at a PostgreSQL server that is not there."""
    original = connections["default"]
    broken_settings = {
        **original.settings_dict,
        **dj_database_url.parse(f"postgres://postgres@127.0.0.1:{closed_port()}/discard"),
        "OPTIONS": {"connect_timeout": 3},
    }
    backend = load_backend(broken_settings["ENGINE"])
    connections["default"] = backend.DatabaseWrapper(broken_settings, "default")
    yield
    connections["default"].close()
    connections["default"] = original


@pytest.fixture(
    params=[
        "channels_redis.core.RedisChannelLayer",
        "channels_redis.pubsub.RedisPubSubChannelLayer",
        "lobby_site.layers.RedisPubSubChannelLayer",
    ]
)
def broken_channel_layer(request, settings):
    """Point the channel layer at a Redis server that is not there."""
    reset_channel_layers()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": request.param,
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{closed_port()}/0"]},
        }
    }
    yield
    reset_channel_layers()


def test_healthz_ok(client, channel_layers):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"db": "ok", "channel_layer": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_names_broken_database(client, channel_layers, broken_database):
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["db"].startswith("error: ")
    assert body["channel_layer"] == "ok"


def test_healthz_names_broken_channel_layer(client, broken_channel_layer):
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["db"] == "ok"
    assert body["channel_layer"].startswith("error: ")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("channel_layers", ["redis"], indirect=True)
async def test_healthz_leaves_no_redis_subscription_behind(async_client, channel_layers, redis_url):
    # One event loop for every call, as under daphne: the layer and its subscriptions persist.
    redis_client = redis.asyncio.Redis.from_url(redis_url)
    try:
        assert (await async_client.get("/healthz")).status_code == 200
        before = len(await redis_client.pubsub_channels(f"{REDIS_PREFIX}*"))

        for _ in range(200):
            response = await async_client.get("/healthz")
            assert response.json() == {"db": "ok", "channel_layer": "ok"}

        after = len(await redis_client.pubsub_channels(f"{REDIS_PREFIX}*"))
    finally:
        await redis_client.aclose()
        await sync_to_async(connections.close_all)()  # the view's, so the test database can be dropped
    assert after <= before + 1, f"{after - before} subscriptions left by 200 health checks"
