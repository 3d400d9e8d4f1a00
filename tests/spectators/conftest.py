"""Fixtures of the spectator tests: the game tests' rooms, seats and settings, and spectators."""

import pytest

from game.watchers import spectators_written
from rooms.clock import stop_clock
from tests.game.conftest import connect, game2, game_settings, make_room  # noqa: F401  (fixtures)
from tests.spectators.helpers import WatchCommunicator


@pytest.fixture
async def watch(channel_layers, transactional_db):
    """Return an async function opening a spectator connection; all closed after the test."""
    watchers: list[WatchCommunicator] = []

    async def open_watch(room_id: int, query: str = "") -> WatchCommunicator:
        watcher = WatchCommunicator(room_id, query)
        watchers.append(watcher)
        return await watcher.connect()

    yield open_watch
    for watcher in watchers:
        await watcher.close()
    await spectators_written()
    await stop_clock()
