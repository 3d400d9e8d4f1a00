"""A watch socket opened with `?follow=1` watches the table's rematch when the players make one
(docs/protocol.md "Spectators", Following a table): WATCH_MOVED, then the rematch's ROOMMATES,
WATCHING and events on the same socket, numbered by the rematch's own stream."""

import asyncio

import pytest
from channels.db import database_sync_to_async as db

from game.watchers import spectators_written
from rooms.models import Room

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


async def play_watched_game(room_id: int, tokens: list, connect, watchers) -> list:
    """Seat the people of `room_id`, play the game to its end, and wait for every spectator's GAME_OVER."""
    seats = [await connect(room_id, token) for token in tokens]
    for seat in seats:
        await seat.hello()
    over = await asyncio.gather(*(seat.play_until_over() for seat in seats))
    for watcher in watchers:
        assert await watcher.until_over() == over[0]
    return seats


async def test_a_following_spectator_watches_the_rematch_to_its_end_on_the_same_socket(make_room, connect, watch):
    room_id, tokens = await make_room(3, computers=1)
    follower = await watch(room_id, "?follow=1&batch=1")
    plain = await watch(room_id)
    ann, bob = await play_watched_game(room_id, tokens, connect, [follower, plain])

    joined = await ann.request("REMATCH", {}, expect="JOIN_ROOM_REP")
    new_id = joined["payload"]["data"]["room"]["room_id"]
    moved = await follower.receive_frame("WATCH_MOVED")
    assert moved["payload"]["data"] == {"room_id": new_id, "from": "Ann"}
    waiting = await follower.receive_frame("ROOMMATES")
    assert [p["name"] for p in waiting["payload"]["data"]["players"]] == ["Ann", "Computer 1"]
    await plain.quiet()  # a socket that did not ask to follow stays with the game it watched

    newcomer = await watch(new_id)  # a spectator of the rematch's own
    assert [m["cmd"] for m in await newcomer.receive()] == ["ROOMMATES"]
    bob_joined = await bob.request("JOIN_REMATCH", {}, expect="JOIN_ROOM_REP")
    for spectator in (follower, newcomer):  # Bob's seat is a change: ROOMMATES pushed (by the relay) to both
        pushed = await spectator.receive_frame("ROOMMATES")
        assert [p["name"] for p in pushed["payload"]["data"]["players"]] == ["Ann", "Computer 1", "Player 1"]
    new_tokens = [joined["payload"]["data"]["player"]["token"], bob_joined["payload"]["data"]["player"]["token"]]
    first_frames = len(follower.frames)
    await play_watched_game(new_id, new_tokens, connect, [follower, newcomer])

    rematch = follower.frames[first_frames:]
    watching = next(f for f in rematch if f["cmd"] == "WATCHING")
    assert watching["msg_id"] == 1  # the rematch's own stream, from its `begin`
    assert [p["name"] for p in watching["payload"]["data"]["players"]] == ["Ann", "Computer 1", "Player 1"]
    assert rematch[-1]["cmd"] == "GAME_OVER"
    await spectators_written()
    assert (await db(Room.objects.get)(pk=room_id)).spectators == 1  # the plain one
    assert (await db(Room.objects.get)(pk=new_id)).spectators == 2  # the follower (counted once) and the newcomer



async def test_seats_taken_together_reach_a_waiting_rooms_spectators_as_one_roommates(watch):
    """A waiting room's changes settle (ROOMMATES_SETTLE) before its spectators get ROOMMATES:
    a rematch's seats fill within a second, and each was a copy to every spectator."""
    from rooms import services as rooms_services

    created, _ = await db(rooms_services.room_create)(room_name="Settle", num_of_players=4, user_name="Ann")
    room_id = created["room_id"]
    spectator = await watch(room_id, "?batch=1")
    assert [m["cmd"] for m in await spectator.receive()] == ["ROOMMATES"]
    for name in ("Bob", "Cat"):
        await db(rooms_services.room_join)(room_id=room_id, user_name=name)
    pushed = await spectator.receive_frame("ROOMMATES")
    assert [p["name"] for p in pushed["payload"]["data"]["players"]] == ["Ann", "Bob", "Cat"]
    await spectator.quiet(1.0)  # one push for both seats
