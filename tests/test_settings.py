"""Settings come from the environment; the defaults are one local process, production-safe."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_VARS = {
    "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "TEST_DATABASE_NAME", "REDIS_URL",
    "CHANNEL_LAYER_BACKEND", "ROOMMATE_INTERVAL", "DRAFT_TIMEOUT", "DISCONNECT_GRACE",
    "AWAY_WAIT", "VOTE_TIMEOUT", "TURN_TIMEOUT", "MAX_TURNS", "GAME_SEED", "MAX_FRAME_BYTES",
    "RATE_LIMIT", "HTTPS", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER",
    "EXTRA_ORIGINS", "TRUSTED_PROXIES", "ADMIN_LOGIN_FAILURES", "ADMIN_LOCKOUT_MINUTES",
}
TUNABLES = [
    "ROOMMATE_INTERVAL", "DRAFT_TIMEOUT", "DISCONNECT_GRACE", "AWAY_WAIT", "VOTE_TIMEOUT",
    "TURN_TIMEOUT", "MAX_TURNS", "GAME_SEED", "MAX_FRAME_BYTES", "RATE_LIMIT",
]

# Runs in a fresh interpreter, since settings are read once per process.
PROBE = """
import json, sys
import django
from django.conf import settings
django.setup()
from django.db import connection
db = settings.DATABASES["default"]
report = {
    "engine": db["ENGINE"],
    "options": {k: v for k, v in db.get("OPTIONS", {}).items() if isinstance(v, (str, int))},
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "debug": settings.DEBUG,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "tunables": {name: getattr(settings, name) for name in sys.argv[2].split(",")},
}
if connection.vendor == "sqlite":
    connection.settings_dict["NAME"] = sys.argv[1]  # keep the project's db.sqlite3 untouched
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        report["journal_mode"] = cursor.fetchone()[0]
print(json.dumps(report))
"""


def probe(tmp_path, **env):
    """Return what the settings module makes of a clean environment plus env."""
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    clean.update(env, DJANGO_SETTINGS_MODULE="lobby_site.settings")
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "probe.sqlite3"), ",".join(TUNABLES)],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_defaults_are_one_local_process(tmp_path):
    report = probe(tmp_path)

    assert report["engine"] == "django.db.backends.sqlite3"
    assert report["options"]["transaction_mode"] == "IMMEDIATE"
    assert report["journal_mode"] == "wal"
    assert report["layer"] == "lobby_site.layers.InMemoryChannelLayer"
    assert report["debug"] is False  # .ci/serve, not the settings, turns DEBUG on
    assert report["allowed_hosts"] == ["localhost", "127.0.0.1", "[::1]"]
    assert report["tunables"] == {
        "ROOMMATE_INTERVAL": 4, "DRAFT_TIMEOUT": 120, "DISCONNECT_GRACE": 60, "AWAY_WAIT": 20,
        "VOTE_TIMEOUT": 60, "TURN_TIMEOUT": 0, "MAX_TURNS": 1000, "GAME_SEED": None,
        "MAX_FRAME_BYTES": 16384, "RATE_LIMIT": 20,
    }


def test_environment_selects_postgresql_redis_and_tunables(tmp_path):
    report = probe(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/discard",
        REDIS_URL="redis://127.0.0.1:6379/0",
        CHANNEL_LAYER_BACKEND="channels_redis.core.RedisChannelLayer",
        DEBUG="false",
        ALLOWED_HOSTS="discard.example, 10.0.0.5",
        AWAY_WAIT="0.5",
        GAME_SEED="7",
        MAX_TURNS="50",
    )

    assert report["engine"] == "django.db.backends.postgresql"
    assert report["layer"] == "channels_redis.core.RedisChannelLayer"
    assert report["debug"] is False
    assert report["allowed_hosts"] == ["discard.example", "10.0.0.5"]
    assert report["tunables"]["AWAY_WAIT"] == 0.5
    assert report["tunables"]["GAME_SEED"] == 7
    assert report["tunables"]["MAX_TURNS"] == 50


def test_redis_url_defaults_to_the_pubsub_layer(tmp_path):
    report = probe(tmp_path, REDIS_URL="redis://127.0.0.1:6379/0")

    assert report["layer"] == "lobby_site.layers.RedisPubSubChannelLayer"  # channels-redis pub/sub, with send_many
