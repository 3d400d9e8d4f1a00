"""Real servers for end-to-end and multi-process tests: daphne processes on their own
databases, started in their own process groups and always killed with them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
# Serving refuses to start without SECRET_KEY (lobby_site/security.py); one key per test run.
TEST_SECRET_KEY = f"test-only-{uuid.uuid4().hex}{uuid.uuid4().hex}"
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


ADDRESS_LIMITS_RAISED = {"ROOMS_PER_ADDRESS": "1000000", "DRAFTS_PER_ADDRESS": "1000000"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str, redis_url: str | None = None, **settings) -> dict:
    """Return the environment for a server process: a database, maybe Redis, and tunables."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("SECRET_KEY", TEST_SECRET_KEY)
    # Every test client connects from 127.0.0.1, and module-scoped servers outlive many rooms:
    # the per-address limits are raised unless a test sets them (tests/lobby/test_address_limits.py).
    for name, value in ADDRESS_LIMITS_RAISED.items():
        env.setdefault(name, value)
    env.update({k: str(v) for k, v in settings.items()})
    return env


def migrate(env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                   cwd=ROOT, env=env, check=True, timeout=120)


@contextlib.contextmanager
def postgres_database():
    """Yield the URL of a new, migrated PostgreSQL database, dropped afterwards."""
    name = f"discard_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        migrate(server_env(url))
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def sqlite_database(tmp_path: Path):
    """Yield the URL of a new, migrated SQLite file database (the default deployment)."""
    url = f"sqlite:///{tmp_path / 'discard.sqlite3'}"
    migrate(server_env(url))
    yield url


class Daphne:
    """One daphne process serving the project on a free local port."""

    def __init__(self, env: dict, port: int | None = None, log_path: Path | None = None,
                 app: str = "lobby_site.asgi:application", python_args: tuple[str, ...] = (),
                 daphne_args: tuple[str, ...] = ()):
        self.env = env
        self.daphne_args = daphne_args  # e.g. ("--ping-interval", "4")
        self.port = port or free_port()
        self.log_path = log_path
        self.app = app
        self.python_args = python_args  # e.g. a profiler that runs daphne as a module
        self.process: subprocess.Popen | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> "Daphne":
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, *self.python_args, "-m", "daphne", *self.daphne_args,
             "-b", "127.0.0.1", "-p", str(self.port), self.app],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.process.returncode}")
            if self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("daphne did not answer /healthz in time")

    def _answers(self) -> bool:
        if self.app != "lobby_site.asgi:application":  # another app: a listening port will do
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
            return False
        try:
            with urllib.request.urlopen(f"{self.http_url}/healthz", timeout=2) as response:
                return json.load(response).get("db") == "ok"
        except OSError:
            return False

    def interrupt(self) -> None:
        """Stop with SIGINT, as Ctrl-C would: lets a profiler wrapping daphne write its report."""
        self._signal(signal.SIGINT)

    def kill(self) -> None:
        """Kill the process group at once (SIGKILL): no disconnect handler runs."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def terminate(self, timeout: float) -> float:
        """Send SIGTERM, as a service manager stopping it would; return the seconds it took
        to exit. Past `timeout` it is killed and the test fails."""
        started = time.monotonic()
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"daphne did not exit within {timeout} s of SIGTERM") from None
        self.process = None
        return time.monotonic() - started

    def _signal(self, sig) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> "Daphne":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- Private Redis and PostgreSQL servers that a test may stop, kill and restart -------------
# Never the shared servers on 6379/5432: other runs use those.


def _wait_until(answers, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer in time")


class RedisServer:
    """A private redis-server (no persistence) on a free port, restartable on the same port."""

    def __init__(self, directory: Path, port: int | None = None):
        self.directory = Path(directory)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        import redis

        try:
            client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.RedisError:
            return False

    def start(self) -> "RedisServer":
        log = open(self.directory / "redis.log", "ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_until(self.answers, 10, "redis-server")
        return self

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PostgresCluster:
    """A private PostgreSQL cluster (initdb in a temporary folder, trust auth, a free port)."""

    def __init__(self, port: int | None = None):
        import tempfile

        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not bins:
            raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql")
        self.bin = bins[-1]
        self.port = port or free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="discard-pg-"))
        if os.geteuid() == 0:
            import shutil

            shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"
        subprocess.run(_as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                                     "-E", "UTF8", "--no-sync"]),
                       check=True, timeout=120, stdout=subprocess.DEVNULL)

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def answers(self) -> bool:
        try:
            psycopg.connect(self.url(), connect_timeout=1).close()
            return True
        except psycopg.Error:
            return False

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), *args]),
                       check=True, timeout=60, stdout=subprocess.DEVNULL)

    def start(self) -> "PostgresCluster":
        self._ctl("-l", str(self.directory / "log"), "-w", "-o",
                  f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        _wait_until(self.answers, 30, "PostgreSQL")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster: `fast` ends every session (as a restart does), `immediate` is a crash."""
        self._ctl("-m", mode, "-w", "stop")

    def remove(self) -> None:
        import shutil

        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def database(self, name: str, template: str | None = None) -> str:
        """Create a database (a copy of `template` if given) and return its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)
