"""CONNECTIONS_PER_SEAT (docs/protocol.md "Limits per address"): when a seat's newer connection
says HELLO and the seat has more live connections than allowed, the oldest is closed with 4409,
on both channel layers (the close goes to the oldest connection's channel, in any process)."""

from channels.db import database_sync_to_async as db

from rooms.models import Connection
from rooms.presence import presence_written


async def open_hello(connect, room_id: int, token: str):
    seat = await connect(room_id, token)
    await seat.hello()
    await presence_written()  # its row is written: the next one is newer
    return seat


async def test_a_newer_connection_closes_the_oldest(make_room, connect, settings):
    settings.CONNECTIONS_PER_SEAT = 2
    room_id, tokens = await make_room(3, humans=2)
    first = await open_hello(connect, room_id, tokens[0])
    second = await open_hello(connect, room_id, tokens[0])
    other = await open_hello(connect, room_id, tokens[1])
    await first.drain()
    await second.drain()

    third = await open_hello(connect, room_id, tokens[0])

    assert await first.receive_close() == 4409
    await second.quiet(0.5)
    assert (await third.request("GET_ROOMMATES", expect="ROOMMATES"))["payload"]["data"]["needed"] == 1
    assert (await second.request("GET_ROOMMATES", expect="ROOMMATES"))["reply_to"] is not None
    await other.drain()
    await first.close()
    await presence_written()
    assert await db(Connection.objects.filter(player__room_id=room_id, player__seat=0).count)() == 2


async def test_the_default_allows_three(make_room, connect, settings):
    assert settings.CONNECTIONS_PER_SEAT == 3
    room_id, tokens = await make_room(3, humans=2)
    seats = [await open_hello(connect, room_id, tokens[0]) for _ in range(3)]
    for seat in seats:
        await seat.drain()
        await seat.quiet(0.3)
    fourth = await open_hello(connect, room_id, tokens[0])
    assert await seats[0].receive_close() == 4409
    await seats[1].quiet(0.3)
    await fourth.drain()
