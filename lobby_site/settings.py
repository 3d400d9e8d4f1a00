"""Settings for Discard online.

Everything comes from the environment, with embedded defaults for a single local process:
no variables set means a SQLite file and the in-memory channel layer. The defaults are
the production-safe ones (DEBUG off, no known key): `.ci/serve` is what says
"development". docs/operations.md lists every variable.
"""
import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int | None) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Without SECRET_KEY a process gets a random key of its own: commands that serve nothing
# (migrate, simulate, the tests' process) work, nothing signed outlives the process, and
# the ASGI application refuses to start on it (lobby_site/security.py require_secret_key).
SECRET_KEY_FROM_ENV = bool(os.environ.get("SECRET_KEY", "").strip())
SECRET_KEY = os.environ["SECRET_KEY"].strip() if SECRET_KEY_FROM_ENV else secrets.token_urlsafe(50)
DEBUG = _env_bool("DEBUG", False)
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", "")
# Origins a WebSocket handshake may also come from, besides ALLOWED_HOSTS (docs/protocol.md
# "Origin"): "https://play.example", "app.example" (any scheme and port), ".example" (subdomains).
EXTRA_ORIGINS = _env_list("EXTRA_ORIGINS", "")


def _networks(name: str, default: str = "") -> list:
    networks = []
    for item in _env_list(name, default):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an IP address or network") from None
    return networks


# Proxies whose X-Forwarded-For is believed (IPs or CIDRs); lobby_site/security.py client_address.
TRUSTED_PROXIES = _env_list("TRUSTED_PROXIES", "")
TRUSTED_PROXY_NETWORKS = _networks("TRUSTED_PROXIES")

# GET /metrics (lobby_site/metrics.py, docs/operations.md "Metrics"): off (404) unless enabled,
# then only for these client addresses (IPs or CIDRs; others 403).
METRICS_ENABLED = _env_bool("METRICS_ENABLED", False)
METRICS_ADDRESSES = _env_list("METRICS_ADDRESSES", "127.0.0.1,::1")
METRICS_NETWORKS = _networks("METRICS_ADDRESSES", "127.0.0.1,::1")

# HTTPS: HTTPS=true turns on the redirect, secure cookies and a year of HSTS (with
# subdomains and preload); each can be overridden. Off by default because TLS usually ends
# at the proxy in front, which the settings cannot see; a deployment sets HTTPS=true.
HTTPS = _env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", HTTPS)
SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = _env_bool("CSRF_COOKIE_SECURE", HTTPS)
SECURE_HSTS_SECONDS = _env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", HTTPS)
# "HTTP_X_FORWARDED_PROTO,https": the header the TLS-ending proxy sets (only set it when
# that proxy always overwrites the header, or the redirect can be fooled).
_proxy_ssl = _env_list("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl) if len(_proxy_ssl) == 2 else None
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "daphne",  # first, so its runserver (ASGI) replaces Django's
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "lobby_site.apps.SiteConfig",  # system checks of the site (SECRET_KEY for --deploy)
    "csp",
    "axes",
    "rooms",
    "game",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

# Content Security Policy (django-csp): scripts, styles, images and sockets from this site
# only; no inline script or style anywhere (templates load static files). 'self' in
# connect-src covers ws:/wss: to the same host (CSP Level 3).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Admin login throttling (django-axes): ADMIN_LOGIN_FAILURES failed logins from one client
# address lock it out for ADMIN_LOCKOUT_MINUTES (HTTP 429); a success resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = _env_int("ADMIN_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=_env_float("ADMIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "lobby_site.security.client_address"

ROOT_URLCONF = "lobby_site.urls"
ASGI_APPLICATION = "lobby_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: PostgreSQL (or anything dj-database-url knows) from DATABASE_URL, else SQLite.
# Connections persist for DB_CONN_MAX_AGE seconds: database_sync_to_async is thread-sensitive,
# so all ORM work of a process runs on one thread and reuses one connection, and Channels
# closes stale ones around each call. Opening a connection per call cost more than the move.
# No CONN_HEALTH_CHECKS: they cost a "SELECT 1" round trip at the start of every call (a third
# of a move); a connection that failed is still checked and replaced before the next call
# (Django closes connections whose errors_occurred after a failed is_usable()).
DB_CONN_MAX_AGE = _env_int("DB_CONN_MAX_AGE", 60)
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE)}
    if os.environ.get("TEST_DATABASE_NAME"):
        # Lets .ci/test give each run its own test database on a shared server.
        DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3",
                             "CONN_MAX_AGE": DB_CONN_MAX_AGE}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers wait for
        # it (up to timeout) instead of failing with "database is locked" on upgrade.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        # WAL lets readers proceed while one writer holds the lock.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    })

# PostgreSQL: statements are sent apart from their parameters (server-side binding), and a
# statement a connection has sent DB_PREPARE_THRESHOLD times is prepared, so the server no
# longer parses and plans it on every move: the database's CPU a move fell by about a third
# (bench/README.md, seventeenth session). Preparing costs one round trip, once per statement
# per connection. 0 prepares on first use; -1 keeps Django's defaults (parameters bound in
# the client, nothing prepared).
DB_PREPARE_THRESHOLD = _env_int("DB_PREPARE_THRESHOLD", 2)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DB_PREPARE_THRESHOLD >= 0:
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "server_side_binding": True, "prepare_threshold": DB_PREPARE_THRESHOLD,
    })

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channel layer: Redis from REDIS_URL (several processes), else in-memory (one process).
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub relayed 2.0-2.3x the messages of the list-based core layer in
            # bench/moves.py's relay baseline (docs/operations.md); clients recover a lost
            # message through their msg_id gap check, so its lack of queueing costs nothing.
            "BACKEND": os.environ.get(
                "CHANNEL_LAYER_BACKEND", "lobby_site.layers.RedisPubSubChannelLayer"
            ),
            # socket_timeout None: redis-py 8 defaults it to 5 s, which cuts the layer's
            # 5 s blocking pop and kills idle consumers (django/channels_redis#422).
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "lobby_site.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed but not manifest: pages render even where collectstatic never ran (tests).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# WhiteNoise also serves straight from static/ (its default only when DEBUG is on), so a
# server with DEBUG off serves its pages whole even where collectstatic never ran (tests).
WHITENOISE_USE_FINDERS = True

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}

# Game tunables (seconds unless noted); tests shorten them with pytest-django's settings.
ROOMMATE_INTERVAL = _env_float("ROOMMATE_INTERVAL", 4)
DRAFT_TIMEOUT = _env_float("DRAFT_TIMEOUT", 120)
DISCONNECT_GRACE = _env_float("DISCONNECT_GRACE", 60)
AWAY_WAIT = _env_float("AWAY_WAIT", 20)
VOTE_TIMEOUT = _env_float("VOTE_TIMEOUT", 60)
TURN_TIMEOUT = _env_float("TURN_TIMEOUT", 0)  # 0 = off
MAX_TURNS = _env_int("MAX_TURNS", 1000)
# Playouts a hard computer searches per decision (docs/protocol.md "Computer levels"; bench/README.md).
HARD_PLAYOUTS = _env_int("HARD_PLAYOUTS", 60)
# Python's garbage collector thresholds for serving processes (lobby_site/asgi.py): gen 0, 1, 2.
# Python's own (700, 10, 10) made a full collection — a pause of the whole process that grows
# with its sockets (100–400 ms at 1,000–2,000 players) — every 3 s; these let short-lived
# objects (frames, messages) die before a collection promotes them, and make full collections
# ten times rarer (bench/README.md "Capacity"). With the young generation also collected on a
# clock (GC_YOUNG_INTERVAL), generation 1 is collected every twentieth time (about every 5 s)
# and a full collection after 100 of those. Pauses: the discard_gc_pause_seconds metric.
GC_THRESHOLDS = tuple(int(x) for x in _env_list("GC_THRESHOLDS", "50000,20,100"))
# Seconds between two collections of the youngest generation in a daphne process, whatever its
# count says (lobby_site/tuning.py: why); 0 leaves it to the interpreter's count alone.
GC_YOUNG_INTERVAL = _env_float("GC_YOUNG_INTERVAL", 0.25)
# Seconds a thread may keep the GIL while another waits for it, in serving processes
# (lobby_site/tuning.py). Python's own 0.005: why, measured, in docs/operations.md.
GIL_SWITCH_INTERVAL = _env_float("GIL_SWITCH_INTERVAL", 0.005)
# Threads (each with its own database connection) that run the moves on PostgreSQL; 1 keeps
# them on the process's one ORM thread (lobby_site/consumers.move_service). Two by default: at
# 5,000 players on two processes one thread was the queue a move waited in, its time mostly
# spent waiting for PostgreSQL's answers (bench/README.md, nineteenth session).
DB_THREADS = _env_int("DB_THREADS", 2)
# Running games whose row a process keeps as its last move wrote it, so the room's next move
# skips the read (game/store.py `_kept`); 0 reads every move's game. Memory: docs/operations.md.
GAME_KEPT_ROOMS = _env_int("GAME_KEPT_ROOMS", 5000)
GAME_SEED = _env_int("GAME_SEED", None)  # None: a fresh random seed per game
REPLAY_DAYS = _env_int("REPLAY_DAYS", 90)  # finished games stay replayable this long (docs/protocol.md "Replays")
# `manage.py purge` without --older-than: ended rooms, drafts, saved states, fired deadlines (docs/operations.md).
PURGE_AFTER_DAYS = _env_float("PURGE_AFTER_DAYS", 30)
MAX_FRAME_BYTES = _env_int("MAX_FRAME_BYTES", 16384)
RATE_LIMIT = _env_float("RATE_LIMIT", 20)  # client frames per second per connection
# Chat (docs/protocol.md "Chat"): lines a second per seat (all its connections together; 0 = no
# limit), the burst, and how many lines a game keeps (its ChatLine rows; the view shows up to 50).
CHAT_RATE = _env_float("CHAT_RATE", 1)
CHAT_BURST = _env_int("CHAT_BURST", 5)
CHAT_KEPT = _env_int("CHAT_KEPT", 50)
# Limits per client address (docs/protocol.md "Limits per address"); 0 = no limit. Load tests raise them.
ROOMS_PER_ADDRESS = _env_int("ROOMS_PER_ADDRESS", 5)  # open rooms (waiting, playing or paused)
DRAFTS_PER_ADDRESS = _env_int("DRAFTS_PER_ADDRESS", 2)  # open drafts
# Live game connections per seat; a newer one's HELLO closes the oldest with 4409 (0 = no limit).
CONNECTIONS_PER_SEAT = _env_int("CONNECTIONS_PER_SEAT", 3)

# Time machinery (rooms/clock.py, docs/architecture.md "Time" and "Presence"); tests shorten them.
CLOCK_INTERVAL = _env_float("CLOCK_INTERVAL", 1)  # seconds between a process's clock ticks
HEARTBEAT_INTERVAL = _env_float("HEARTBEAT_INTERVAL", 10)  # seconds between a process's beats
HEARTBEAT_STALE = _env_float("HEARTBEAT_STALE", 30)  # a process this long silent is dead
# seconds between a clock's sweeps for dead processes (at most this much later than HEARTBEAT_STALE)
SWEEP_INTERVAL = _env_float("SWEEP_INTERVAL", HEARTBEAT_INTERVAL / 2)

# The lobby listing (docs/protocol.md "Lobby listing"): open rooms listed per GET_ROOMS_REP/ROOMS_CHANGED.
ROOMS_LISTED = _env_int("ROOMS_LISTED", 50)
