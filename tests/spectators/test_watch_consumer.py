"""The watch socket (`/ws/rooms/<id>/watch/`) against the real consumers, database and channel
layer (memory and Redis): what a spectator gets, in what numbering, and what it may not do."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from game import consumers, services
from game.models import Game
from lobby_site.wire import ProtocolError, clean_create_room
from rooms import services as rooms_services
from rooms.models import Deadline, Room
from rooms.notify import watch_group
from tests.game.conftest import begun_game, settle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def db(fn):
    return database_sync_to_async(fn)


async def play_to_the_end(seats) -> dict:
    results = await asyncio.gather(*(seat.play_until_over() for seat in seats))
    return results[0]


async def test_a_spectator_gets_roommates_then_watching_then_every_public_event_in_log_order(make_room, connect,
                                                                                             watch):
    room_id, tokens = await make_room(2)
    watcher = await watch(room_id)
    first = await watcher.receive()
    assert [m["cmd"] for m in first] == ["ROOMMATES"] and first[0]["payload"]["data"]["needed"] == 0
    seats = [await connect(room_id, token) for token in tokens]
    for seat in seats:
        await seat.hello()

    watching = await watcher.receive_frame("WATCHING")
    over = await play_to_the_end(seats)
    assert await watcher.until_over() == over

    game = await db(Game.objects.get)(room_id=room_id)
    assert watching["msg_id"] == 1  # the log's `begin`
    view = watching["payload"]["data"]
    assert "you" not in view and "prompt" not in view and view["spectators"] == 1
    events = [m["payload"]["data"] for m in watcher.frames if m["cmd"] == "GAME_EVENT"]
    seat_events = [m["payload"]["data"] for m in seats[0].frames if m["cmd"] == "GAME_EVENT"]
    assert [e for e in events if e["event"] != "spectators"] == [e for e in seat_events if e["event"] != "spectators"]
    # Numbered by the log: event k (from 0, `begin` first) is k + 1; GAME_OVER takes the next number.
    assert watcher.last == game.event_count + 1
    assert watcher.frames[-1]["cmd"] == "GAME_OVER" and watcher.frames[-2]["payload"]["data"]["event"] == "game_over"
    assert not any(m["cmd"] == "GAME_MESSAGE_REP" for m in watcher.frames)


async def test_a_spectator_joining_a_running_game_gets_watching_at_once_and_the_next_numbers(game2, watch):
    room_id, seats = game2
    await settle(seats)
    player = next(seat for seat in seats if seat.prompt)
    await player.answer()
    await settle(seats)
    game = await db(Game.objects.get)(room_id=room_id)

    watcher = await watch(room_id)
    [watching] = await watcher.receive()
    assert watching["cmd"] == "WATCHING" and watching["msg_id"] == game.event_count
    assert watching["payload"]["data"]["version"] == game.version
    player = next(seat for seat in seats if seat.prompt)
    await player.answer()
    frames = await watcher.receive()
    assert frames[0]["msg_id"] == game.event_count + 1


async def test_two_spectators_get_the_same_numbers(game2, watch):
    room_id, seats = game2
    early = await watch(room_id)
    await early.receive_frame("WATCHING")
    late = await watch(room_id)
    await late.receive_frame("WATCHING")
    await play_to_the_end(seats)
    await early.until_over()
    await late.until_over()
    numbered = lambda w: [(m["msg_id"], m["cmd"], m["payload"]["data"]) for m in w.frames if m["cmd"] != "WATCHING"]
    tail = numbered(late)
    assert tail and numbered(early)[-len(tail):] == tail


async def test_spectator_commands_that_act_get_unauthorized_and_status_uses_no_msg_id(game2, watch):
    room_id, seats = game2
    watcher = await watch(room_id)
    await watcher.receive_frame("WATCHING")
    await watcher.receive_frame("GAME_EVENT")  # `spectators {count: 1}`
    for k, cmd in enumerate(("CHAT", "GAME_MESSAGE", "LEAVE_REQUEST", "LEAVE", "ADD_COMPUTER", "HELLO"), start=1):
        await watcher.send(cmd, {"text": "hi", "reply_to": 1, "data": [], "token": "x"}, msg_id=k)
        [error] = await watcher.receive()
        assert error["cmd"] == "ERROR" and error["payload"]["data"]["code"] == "UNAUTHORIZED", error
        assert error["reply_to"] == k
    await watcher.send("GET_GAME_STATUS", msg_id=40)
    [status] = await watcher.receive()
    await watcher.send("GET_GAME_STATUS", msg_id=41)
    [again] = await watcher.receive()
    assert status["cmd"] == again["cmd"] == "WATCH_STATUS"
    assert status["msg_id"] == again["msg_id"] == watcher.last and status["reply_to"] == 40
    game = await db(Game.objects.get)(room_id=room_id)
    assert not [e for e in game.recent if e["event"] == "chat"]


async def test_batches_carry_a_change_in_one_message_when_asked(game2, watch):
    room_id, seats = game2
    batched = await watch(room_id, "?batch=1")
    single = await watch(room_id)
    await batched.receive_frame("WATCHING")
    await single.receive_frame("WATCHING")
    await play_to_the_end(seats)
    await batched.until_over()
    await single.until_over()
    since = max(batched.frames[0]["msg_id"], single.frames[0]["msg_id"])  # their WATCHING snapshots
    after = lambda w: [m["msg_id"] for m in w.frames if m["msg_id"] > since and m["cmd"] != "WATCHING"]
    assert after(batched) == after(single) and after(single)
    assert single.messages == len(single.frames)
    assert batched.messages < len(batched.frames)


async def test_a_room_created_not_watchable_closes_the_watch_socket_with_4403(make_room, watch):
    room, _ = await db(rooms_services.room_create)(room_name="Private", num_of_players=2, user_name="Ann",
                                                   watchable=False)
    watcher = await watch(room["room_id"])
    with pytest.raises(ConnectionError):
        await watcher.receive()
    assert watcher.close_code == 4403
    assert (await db(Room.objects.get)(pk=room["room_id"])).spectators == 0


async def test_an_unknown_room_closes_the_watch_socket_with_4404(transactional_db, watch):
    watcher = await watch(999999)
    with pytest.raises(ConnectionError):
        await watcher.receive()
    assert watcher.close_code == 4404


def test_create_a_room_takes_watchable_true_by_default_and_refuses_a_non_boolean():
    base = {"room_name": "T", "num_of_players": 2, "user_name": "Ann"}
    assert clean_create_room(base)["watchable"] is True
    assert clean_create_room({**base, "watchable": False})["watchable"] is False
    with pytest.raises(ProtocolError) as refused:
        clean_create_room({**base, "watchable": "no"})
    assert refused.value.field == "watchable"


async def test_the_count_reaches_views_and_a_spectators_event_at_most_once_every_10_s(game2, watch):
    room_id, seats = game2
    await settle(seats)
    first = await watch(room_id)
    await first.receive_frame("WATCHING")
    told = await first.receive_frame("GAME_EVENT")
    assert told["payload"]["data"] == {"event": "spectators", "count": 1}
    seen = [m for seat in seats for m in [await seat.receive()] if m["cmd"] == "GAME_EVENT"]
    assert all(m["payload"]["data"] == {"event": "spectators", "count": 1} for m in seen) and len(seen) == 2
    status = await seats[0].request("GET_GAME_STATUS", expect="GAME_STATUS")
    assert status["payload"]["data"]["spectators"] == 1

    second = await watch(room_id)
    [watching] = await second.receive()
    assert watching["payload"]["data"]["spectators"] == 2
    await first.quiet(0.5)  # within 10 s of the last: not now …
    room = await db(Room.objects.get)(pk=room_id)
    pending = await db(lambda: list(Deadline.objects.filter(kind=services.SPECTATORS_KIND, room_id=room_id,
                                                             claimed_at__isnull=True)))()
    assert len(pending) == 1  # … but 10 s after the last event
    assert abs((pending[0].due_at - room.spectators_told).total_seconds() - services.SPECTATORS_GAP) < 0.01
    await second.close()
    await asyncio.sleep(0.2)
    assert (await db(Room.objects.get)(pk=room_id)).spectators == 1


async def test_seats_that_go_away_together_reach_spectators_numbered_one_after_the_other(make_room, connect, watch):
    room_id, seats = await begun_game(make_room, connect, 3)
    await settle(seats)
    watcher = await watch(room_id)
    await watcher.receive_frame("WATCHING")
    await watcher.receive_frame("GAME_EVENT")  # `spectators {count: 1}`
    # One batch of presence changes makes one change of two events (rooms.signals, batched writes).
    assert await db(services.game_presence)(room_id=room_id, seats=[1, 2], event="disconnected")
    first = await watcher.receive_frame("GAME_EVENT")
    second = await watcher.receive_frame("GAME_EVENT")
    assert [first["payload"]["data"], second["payload"]["data"]] == [
        {"event": "disconnected", "seat": 1}, {"event": "disconnected", "seat": 2}]
    assert second["msg_id"] == first["msg_id"] + 1  # WatchState checks every number follows the last
    game = await db(Game.objects.get)(room_id=room_id)
    assert watcher.last == game.event_count


async def held_watch_messages(monkeypatch, seats, changes: int) -> list[dict]:
    """Play `changes` moves while keeping their spectators' part (`watch`) from being sent; return them."""
    held = []
    send = services.send_on_commit

    def hold(group, message):
        if message["type"] == "room.frames" and "watch" in message:
            held.append(message["watch"])
            message = {key: value for key, value in message.items() if key != "watch"}
        send(group, message)

    monkeypatch.setattr(services, "send_on_commit", hold)
    while len(held) < changes:
        await settle(seats)
        await next(seat for seat in seats if seat.prompt).answer()
        for seat in seats:
            await seat.drain()
    monkeypatch.setattr(services, "send_on_commit", send)
    return held[:changes]


async def test_changes_that_arrive_out_of_order_reach_the_spectator_in_order(game2, watch, monkeypatch):
    room_id, seats = game2
    watcher = await watch(room_id)
    await watcher.receive_frame("WATCHING")
    await watcher.receive_frame("GAME_EVENT")  # `spectators {count: 1}`
    first, second = await held_watch_messages(monkeypatch, seats, 2)
    layer = get_channel_layer()
    await layer.group_send(watch_group(room_id), second)  # as if another process had been quicker
    await watcher.quiet(0.3)  # it waits for the change before it …
    await layer.group_send(watch_group(room_id), first)
    while watcher.last < second["first"] + len(second["texts"]) - 1:
        await watcher.receive()  # … and then both come, in order: WatchState checks every number
    assert watcher.snapshots == 1


async def test_a_change_that_never_comes_is_replaced_by_a_snapshot(game2, watch, monkeypatch):
    room_id, seats = game2
    watcher = await watch(room_id)
    await watcher.receive_frame("WATCHING")
    await watcher.receive_frame("GAME_EVENT")
    _, second = await held_watch_messages(monkeypatch, seats, 2)
    await get_channel_layer().group_send(watch_group(room_id), second)
    [snapshot] = await watcher.receive(timeout=consumers.REORDER_WAIT + 5)
    game = await db(Game.objects.get)(room_id=room_id)
    assert snapshot["cmd"] == "WATCHING" and snapshot["msg_id"] == game.event_count
    assert snapshot["payload"]["data"]["version"] == game.version
    await watcher.quiet(0.3)  # the early change is in the snapshot: nothing more
