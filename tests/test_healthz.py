"""GET /healthz against real databases and channel layers; failures are real, not mocked."""
import dj_database_url
import pytest
from django.db import connections
from django.db.utils import load_backend

from tests.conftest import closed_port, reset_channel_layers

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
