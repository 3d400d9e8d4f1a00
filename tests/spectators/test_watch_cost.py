"""What a spectator costs: no database query per move, and a share of a batched write when it
comes or goes. The same game's moves are counted without spectators and with five on the watch
socket (the real consumers, database and channel layer, memory and Redis): every SQL statement
any thread runs, from sending the answer until every seat and every spectator has the change."""

import asyncio
import contextlib
from unittest import mock

import pytest
from channels.db import database_sync_to_async
from django.db.backends.utils import CursorWrapper

from game.store import game_forget_kept
from game.watchers import spectators_written
from rooms.clock import stop_clock
from rooms.models import Room
from tests.game.conftest import settle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

SPECTATORS = 5
MOVES = 4


@contextlib.contextmanager
def every_query():
    """Record every statement run through a Django cursor, on any thread (the ORM thread included)."""
    seen: list[str] = []
    original = CursorWrapper._execute_with_wrappers

    def counted(self, sql, params, many, executor):
        seen.append(sql)
        return original(self, sql, params, many, executor)

    with mock.patch.object(CursorWrapper, "_execute_with_wrappers", counted):
        yield seen


async def counted_moves(seats, watchers) -> list[list[str]]:
    """Play MOVES moves; return each move's statements, until every seat and spectator has it.

    The first reads the game row (whatever the process kept of the game is forgotten first, so
    both counts start alike); the others start from the game the move before kept.
    """
    game_forget_kept()
    moves = []
    for _ in range(MOVES):
        player = next(seat for seat in seats if seat.prompt)
        others = [seat for seat in seats if seat is not player]
        heard = [watcher.last for watcher in watchers]
        with every_query() as statements:
            await player.answer()
            await settle(seats)  # the next prompt has arrived
            for seat in others:
                await seat.drain()
            for watcher, before in zip(watchers, heard):
                while watcher.last == before:
                    await watcher.receive()
            await asyncio.sleep(0.3)  # a query set off by a delivery would run now
        moves.append(list(statements))
    return moves


async def test_a_move_runs_the_same_queries_with_five_spectators_as_with_none(game2, watch):
    room_id, seats = game2
    await settle(seats)
    await stop_clock()  # its ticks query the database on their own schedule
    unwatched = await counted_moves(seats, [])

    watchers = [await watch(room_id) for _ in range(SPECTATORS)]
    for watcher in watchers:
        await watcher.receive_frame("WATCHING")
    await spectators_written()  # the process's batch of new spectators
    await stop_clock()  # the `spectators` deadline waits
    for seat in seats:
        await seat.drain()
    watched = await counted_moves(seats, watchers)

    assert all(moves for moves in unwatched), "the count sees the move's queries"
    assert [len(queries) for queries in watched] == [len(queries) for queries in unwatched], (unwatched, watched)
    assert all(watcher.last == watchers[0].last for watcher in watchers)  # every spectator had every move


async def test_spectators_arriving_together_are_counted_in_batches_not_one_write_each(game2, watch):
    room_id, seats = game2
    await settle(seats)
    with every_query() as statements:
        watchers = [await watch(room_id) for _ in range(10)]
        for watcher in watchers:
            await watcher.receive_frame("WATCHING")
        await spectators_written()
    counts = [statement for statement in statements if statement.startswith("UPDATE") and "spectators" in statement]
    assert 1 <= len(counts) < 5, counts
    assert await database_sync_to_async(lambda: Room.objects.get(pk=room_id).spectators)() == 10
    for watcher in watchers[:4]:
        await watcher.close()
    await spectators_written()
    assert await database_sync_to_async(lambda: Room.objects.get(pk=room_id).spectators)() == 6
