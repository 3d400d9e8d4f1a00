"""Absence in a running game (docs/protocol.md "Absence"): AWAY_WAIT then autoplay until the player
returns, the optional TURN_TIMEOUT, and the clock's sweep of a dead connection."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from game.models import Game
from rooms.models import Connection, Deadline, Player, ServerProcess
from tests.game.conftest import event_of, settle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def db(fn):
    return database_sync_to_async(fn)


async def test_an_away_seat_is_autoplayed_after_away_wait_until_it_returns(game2, connect, settings):
    settings.AWAY_WAIT = 0.3
    room_id, seats = game2
    await settle(seats)
    away = next(seat for seat in seats if seat.prompt)
    present = next(seat for seat in seats if seat is not away)
    await present.drain()

    await away.close()

    assert (await event_of(present, "disconnected")) == {"event": "disconnected", "seat": away.seat}
    assert (await event_of(present, "autoplay")) == {"event": "autoplay", "seat": away.seat}
    assert (await present.receive())["payload"]["data"]["seat"] == away.seat  # the move made for it
    assert await db(lambda: Deadline.objects.filter(kind="away_wait", fired_count=1).count())() == 1
    # While it is away the computer keeps acting for it at once: the present seat is never kept waiting.
    for _ in range(3):
        while present.prompt is None and present.over is None:
            await present.receive()
        if present.over:
            break
        await present.answer()
    assert await db(lambda: Game.objects.get(room_id=room_id).seats[away.seat].get("autoplay"))()

    back = await connect(room_id, away.token)
    await back.hello()
    await back.expect("RESUME")
    assert (await event_of(present, "reconnected"))["seat"] == away.seat
    seats_json = await db(lambda: Game.objects.get(room_id=room_id).seats)()
    assert not seats_json[away.seat]["autoplay"] and not seats_json[away.seat]["away"]


async def test_an_away_seat_that_returns_within_away_wait_plays_itself(game2, connect, settings):
    settings.AWAY_WAIT = 60
    room_id, seats = game2
    await settle(seats)
    away = next(seat for seat in seats if seat.prompt)
    present = next(seat for seat in seats if seat is not away)
    pending = away.prompt
    await away.close()
    await event_of(present, "disconnected")

    back = await connect(room_id, away.token)
    await back.hello()
    resume = await back.expect("RESUME")

    assert resume["payload"]["data"]["prompt"] == pending
    await event_of(present, "reconnected")
    await present.quiet()
    assert await db(lambda: Deadline.objects.filter(kind="away_wait", claimed_at__isnull=True).count())() == 1


async def test_turn_timeout_has_the_computer_act_once_for_a_silent_player(make_room, connect, settings):
    settings.TURN_TIMEOUT = 0.3
    room_id, tokens = await make_room(2)
    seats = [await connect(room_id, token) for token in tokens]
    for seat in seats:
        await seat.hello()
    await settle(seats)
    silent = next(seat for seat in seats if seat.prompt)
    other = next(seat for seat in seats if seat is not silent)

    assert (await event_of(other, "autoplay")) == {"event": "autoplay", "seat": silent.seat}
    assert (await event_of(silent, "autoplay"))["seat"] == silent.seat
    seats_json = await db(lambda: Game.objects.get(room_id=room_id).seats)()
    assert not seats_json[silent.seat]["autoplay"]  # once: it is not handed over for good


async def test_the_sweep_of_a_dead_connection_shows_the_seat_disconnected(game2, settings):
    settings.HEARTBEAT_STALE = 5
    room_id, seats = game2
    await settle(seats)
    for seat in seats:
        await seat.drain()
    dead, other = seats

    # As if its process died: its connection belongs to a process that stopped beating a
    # minute ago (no disconnect handler runs).
    await db(lambda: ServerProcess.objects.create(name="dead:1:x", beat=timezone.now() - timedelta(seconds=60)))()
    await db(lambda: Connection.objects.filter(player__room_id=room_id, player__seat=dead.seat).update(
        process="dead:1:x"))()

    assert (await event_of(other, "disconnected")) == {"event": "disconnected", "seat": dead.seat}
    assert await db(lambda: Game.objects.get(room_id=room_id).seats[dead.seat].get("away"))()


async def test_a_consumer_killed_while_closing_leaves_no_live_connection(game2):
    """daphne kills a consumer that is slow to close: its task is cancelled and no disconnect handler runs."""
    room_id, seats = game2
    await settle(seats)
    for seat in seats:
        await seat.drain()
    killed, other = seats

    killed.communicator.future.cancel()

    assert (await event_of(other, "disconnected")) == {"event": "disconnected", "seat": killed.seat}
    assert not await db(Connection.objects.filter(player__room_id=room_id, player__seat=killed.seat).exists)()
    assert not await db(lambda: Player.objects.get(room_id=room_id, seat=killed.seat).connected)()
    assert await db(lambda: Game.objects.get(room_id=room_id).seats[killed.seat]["away"])()
