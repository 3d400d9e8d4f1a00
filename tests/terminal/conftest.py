"""One real daphne (SQLite, a fixed GAME_SEED) for the terminal tests, and tmux terminals on it."""

import json
import sqlite3

import pytest

from tests.servers import Daphne, server_env, sqlite_database
from tests.terminal.tmux import Terminal

GAME_SEED = 1742  # every game deals the same: the tests' answers, and so their games, are repeatable
SERVER_SETTINGS = {"GAME_SEED": GAME_SEED, "MAX_TURNS": 150, "LOG_LEVEL": "WARNING",
                   "ROOMMATE_INTERVAL": 2, "VOTE_TIMEOUT": 60, "AWAY_WAIT": 20}


@pytest.fixture(scope="session")
def server_files(tmp_path_factory):
    return tmp_path_factory.mktemp("terminal-server")


@pytest.fixture(scope="session")
def database_url(server_files):
    with sqlite_database(server_files) as url:
        yield url


@pytest.fixture(scope="session")
def server(database_url, server_files):
    with Daphne(server_env(database_url, **SERVER_SETTINGS), log_path=server_files / "daphne.log") as daphne:
        yield daphne


@pytest.fixture
def terminals(server, tmp_path):
    """Open terminals with `terminals("Ada")`; every one is closed after the test."""
    opened = []

    def open_terminal(name: str, **options) -> Terminal:
        save_dir = tmp_path / name.lower()
        save_dir.mkdir()
        terminal = Terminal(server.http_url, name, save_dir, **options)
        opened.append(terminal)
        return terminal

    yield open_terminal
    for terminal in opened:
        terminal.close()


def read_database(database_url: str, sql: str, args: tuple = ()) -> list[tuple]:
    """Read the server's SQLite database directly (the server's state, not what a client says)."""
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
        return conn.execute(sql, args).fetchall()


def game_of(database_url: str, room_id: int) -> dict:
    status, state, seats = read_database(
        database_url, "SELECT status, state, seats FROM game_game WHERE room_id = ?", (room_id,))[0]
    return {"status": status, "state": json.loads(state), "seats": json.loads(seats)}
