"""GameConsumer against the real consumer, database and channel layer (memory and Redis)."""

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

import game.consumers
import game.services
from game.engine import NAME_OPTIONS, parse_card, parse_cards
from game.models import Game, GameLog
from rooms.models import Room
from rooms.notify import room_group
from tests.game.conftest import install_state, settle
from tests.game.helpers import conservation, wire

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def db(fn):
    return database_sync_to_async(fn)


# --- Handshake ---------------------------------------------------------------------------


async def test_hello_with_a_wrong_token_is_unauthorized_and_closed(make_room, connect):
    room_id, _ = await make_room(2)
    seat = await connect(room_id, "not-a-token")

    await seat.send("HELLO", {"token": "not-a-token"})

    error = await seat.expect("ERROR")
    assert error["payload"]["data"]["code"] == "UNAUTHORIZED"
    assert error["reply_to"] == 1
    assert await seat.receive_close() == 4401


async def test_token_of_another_room_is_unauthorized(make_room, connect):
    room_id, _ = await make_room(2)
    _, other_tokens = await make_room(2)
    seat = await connect(room_id, other_tokens[0])

    await seat.send("HELLO", {"token": other_tokens[0]})

    assert (await seat.expect("ERROR"))["payload"]["data"]["code"] == "UNAUTHORIZED"
    assert await seat.receive_close() == 4401


@pytest.mark.parametrize("first", ['{"cmd": "GET_GAME_STATUS"}', "not json", '{"cmd": "HELLO", "payload": {}}'])
async def test_anything_but_a_good_hello_first_is_unauthorized(make_room, connect, first):
    room_id, tokens = await make_room(2)
    seat = await connect(room_id, tokens[0])

    await seat.send_raw(first)

    assert (await seat.expect("ERROR"))["payload"]["data"]["code"] == "UNAUTHORIZED"
    assert await seat.receive_close() == 4401


async def test_no_hello_in_time_is_unauthorized(make_room, connect, monkeypatch):
    monkeypatch.setattr(game.consumers, "HELLO_TIMEOUT", 0.2)
    room_id, tokens = await make_room(2)
    seat = await connect(room_id, tokens[0])

    assert (await seat.expect("ERROR"))["payload"]["data"]["code"] == "UNAUTHORIZED"
    assert await seat.receive_close() == 4401


# --- Waiting room --------------------------------------------------------------------------


async def test_hello_in_a_waiting_room_gets_connected_and_roommates(make_room, connect):
    room_id, tokens = await make_room(3, humans=2)
    first = await connect(room_id, tokens[0])

    connected = await first.hello()
    roommates = await first.expect("ROOMMATES")

    assert connected["payload"]["data"]["player"] == {"player_id": connected["payload"]["data"]["player"]["player_id"],
                                                       "name": "Ann", "seat": 0}
    assert connected["payload"]["data"]["room"]["room_id"] == room_id
    assert roommates["payload"]["data"]["needed"] == 1
    assert [(p["name"], p["connected"]) for p in roommates["payload"]["data"]["players"]] == [
        ("Ann", True), ("Player 1", False)]

    second = await connect(room_id, tokens[1])
    await second.hello()
    await second.expect("ROOMMATES")
    # The whole room hears of every connect. Before second's, first may hear of its own and of
    # the join made before it said HELLO (group sends leave after commit, from a task: one can
    # reach a connection that joined the group just after the change).
    pushed = await first.expect("ROOMMATES")
    while not pushed["payload"]["data"]["players"][1]["connected"]:
        pushed = await first.expect("ROOMMATES")
    assert [p["connected"] for p in pushed["payload"]["data"]["players"]] == [True, True]


async def test_roommates_are_pushed_periodically_until_the_game_begins(make_room, connect, settings):
    settings.ROOMMATE_INTERVAL = 0.1
    room_id, tokens = await make_room(2)
    first = await connect(room_id, tokens[0])
    await first.hello()
    for _ in range(3):
        await first.expect("ROOMMATES")

    second = await connect(room_id, tokens[1])
    await second.hello()
    await first.skip_to("GAME_BEGIN")
    await second.skip_to("GAME_BEGIN")

    # After GAME_BEGIN only game frames come: no more ROOMMATES, though the interval passes.
    await settle([first, second])
    for seat in (first, second):
        await seat.quiet(0.5)
        begun = next(k for k, f in enumerate(seat.frames) if f["cmd"] == "GAME_BEGIN")
        assert all(f["cmd"] != "ROOMMATES" for f in seat.frames[begun:])


async def test_a_waiting_rooms_change_is_read_once_for_all_its_connections_in_the_process(make_room, connect,
                                                                                        settings, monkeypatch):
    settings.ROOMMATE_INTERVAL = 60  # no periodic push meanwhile
    room_id, tokens = await make_room(5, humans=4)
    seats = [await connect(room_id, token) for token in tokens]
    for seat in seats:
        await seat.hello()
    for seat in seats:
        await seat.drain(0.3)
    reads = []
    read = game.services.roommates_data
    monkeypatch.setattr(game.services, "roommates_data", lambda **kw: reads.append(kw) or read(**kw))
    held, released = threading.Event(), threading.Event()

    def busy():  # the database thread is busy while the change reaches every connection
        held.set()
        released.wait(10)

    blocker = asyncio.create_task(database_sync_to_async(busy)())
    await asyncio.to_thread(held.wait, 10)
    await get_channel_layer().group_send(room_group(room_id), {"type": "roommates.changed"})
    await asyncio.sleep(0.3)
    released.set()
    await blocker

    for seat in seats:
        assert (await seat.expect("ROOMMATES"))["payload"]["data"]["needed"] == 1
    assert len(reads) == 1


async def test_get_roommates_answers_the_connection(make_room, connect):
    room_id, tokens = await make_room(3, humans=1, computers=1)
    seat = await connect(room_id, tokens[0])
    await seat.hello()
    await seat.expect("ROOMMATES")

    answer = await seat.request("GET_ROOMMATES", expect="ROOMMATES")

    assert [(p["name"], p["is_computer"], p["connected"]) for p in answer["payload"]["data"]["players"]] == [
        ("Ann", False, True), ("Computer 1", True, True)]
    assert answer["payload"]["data"]["needed"] == 1


# --- Game begin ----------------------------------------------------------------------------


async def test_the_completing_hello_gets_connected_roommates_begin_turn_prompt(make_room, connect):
    room_id, tokens = await make_room(2)
    first = await connect(room_id, tokens[0])
    await first.hello()
    await first.expect("ROOMMATES")
    second = await connect(room_id, tokens[1])

    await second.hello()

    await second.expect("ROOMMATES")
    begin = await second.skip_to("GAME_BEGIN")  # the first seat's connection may push ROOMMATES between
    assert begin["msg_id"] == 1
    view = begin["payload"]["data"]
    assert view["you"]["seat"] == 1 and view["you"]["name"] == "Player 1"
    assert len(view["you"]["hand"]) == 8  # R3
    assert [p["cards_left"] for p in view["players"]] == [8, 8]
    assert view["pile_count"] == 1 and view["market_count"] == 120 - 17
    assert begin["payload"]["top_card"] == view["top_card"]
    turn = await second.expect("GAME_EVENT")
    assert turn["msg_id"] == 2 and turn["payload"]["data"]["event"] == "turn"
    current = turn["payload"]["data"]["seat"]
    assert view["awaiting_seat"] == current
    for seat in (first, second):
        if seat is not second:
            await seat.skip_to("GAME_BEGIN")
            await seat.expect("GAME_EVENT")
        if seat.seat == current:
            prompt = await seat.expect("GAME_MESSAGE_REP")
            assert prompt["msg_id"] == 3
            payload = prompt["payload"]
            assert payload["flag"] == "USER_INPUT_CONTINUE" and payload["next_cmd"] == "PICK_CARDS"
            assert payload["return_type"] == "LIST" and payload["data"] == {"kind": "turn", "pending_pick": None}
            assert set(payload["extra_data"]) <= set(seat.hand)
        else:
            await seat.quiet()
    assert await db(Room.objects.values_list("status", flat=True).get)(pk=room_id) == "playing"
    assert await db(Game.objects.filter(room_id=room_id).count)() == 1


async def test_computers_play_inline_and_the_game_reaches_game_over(make_room, connect):
    room_id, tokens = await make_room(4, computers=3)
    seat = await connect(room_id, tokens[0])
    await seat.hello()
    await seat.expect("ROOMMATES")
    await seat.expect("GAME_BEGIN")

    over = await seat.play_until_over()

    game = await db(Game.objects.get)(room_id=room_id)
    conservation(game.state)
    assert game.status == "finished"
    assert over["winner"] == game.state["outcome"]["winner"]
    assert [r["name"] for r in over["ranking"]][:1] == [["Ann", "Computer 1", "Computer 2", "Computer 3"][over["winner"]]]
    assert sorted(seat.hand) == sorted(game.state["hands"][0])
    assert game.seats[0]["msg_id"] == seat.last_msg_id
    logged = await db(lambda: [len(row.events) for row in GameLog.objects.filter(game=game)])()
    assert game.event_count == sum(logged)
    assert await db(Room.objects.values_list("status", flat=True).get)(pk=room_id) == "finished"
    # Computers played between the human's prompts: events of seats 1-3 arrived.
    assert {f["payload"]["data"].get("seat") for f in seat.frames if f["cmd"] == "GAME_EVENT"} >= {1, 2, 3}


async def test_two_humans_play_a_whole_game(game2):
    import asyncio

    room_id, seats = game2

    results = await asyncio.gather(*(seat.play_until_over() for seat in seats))

    assert results[0] == results[1]
    game = await db(Game.objects.get)(room_id=room_id)
    conservation(game.state)
    for seat in seats:
        assert sorted(seat.hand) == sorted(game.state["hands"][seat.seat])
        assert game.seats[seat.seat]["msg_id"] == seat.last_msg_id
        assert seat.frames[-1]["cmd"] == "GAME_OVER"
        assert seat.frames[-2]["payload"]["data"] == {"event": "game_over", "winner": results[0]["winner"]}


# --- Snapshots, chat, presence ---------------------------------------------------------


async def test_game_status_is_the_view_and_does_not_use_a_msg_id(game2):
    room_id, seats = game2
    await settle(seats)
    player = next(seat for seat in seats if seat.prompt)

    first = await player.request("GET_GAME_STATUS", expect="GAME_STATUS")
    second = await player.request("GET_GAME_STATUS", expect="GAME_STATUS")

    assert first["msg_id"] == second["msg_id"] == player.last_msg_id
    view = first["payload"]["data"]
    assert view["prompt"] == player.prompt
    assert view["awaiting_seat"] == player.seat and view["question"] is None and view["vote"] is None
    assert [e["event"] for e in view["recent_events"]] == ["turn"]
    assert {p["name"] for p in view["players"]} == {"Ann", "Player 1"}
    await player.answer()
    following = await player.receive()
    assert following["msg_id"] == first["msg_id"] + 1


async def test_chat_is_an_event_to_every_seat(game2):
    room_id, seats = game2
    await settle(seats)
    before = [seat.last_msg_id for seat in seats]

    await seats[0].send("CHAT", {"text": "  good luck  "})

    for seat, last in zip(seats, before):
        chat = await seat.skip_to("GAME_EVENT", skip=("GAME_EVENT", "GAME_MESSAGE_REP"))
        while chat["payload"]["data"]["event"] != "chat":
            chat = await seat.receive()
        assert chat["payload"]["data"] == {"event": "chat", "seat": 0, "name": "Ann", "text": "good luck"}
        assert chat["msg_id"] == seat.last_msg_id and chat["msg_id"] > last
    status = await seats[1].request("GET_GAME_STATUS", expect="GAME_STATUS")
    assert status["payload"]["data"]["recent_events"][-1]["event"] == "chat"


async def test_chat_before_the_game_is_refused(make_room, connect):
    room_id, tokens = await make_room(2)
    seat = await connect(room_id, tokens[0])
    await seat.hello()
    await seat.expect("ROOMMATES")

    error = await seat.request("CHAT", {"text": "hello"}, expect="ERROR")

    assert error["payload"]["data"]["code"] == "GAME_NOT_STARTED"


async def test_a_seat_that_goes_away_and_comes_back(game2, connect):
    room_id, seats = game2
    await settle(seats)
    away = next(seat for seat in seats if seat.prompt)
    other = next(seat for seat in seats if seat is not away)
    pending = away.prompt

    await away.close()
    gone = await other.receive()
    assert gone["payload"]["data"] == {"event": "disconnected", "seat": away.seat}

    back = await connect(room_id, away.token)
    back.last_msg_id = away.last_msg_id
    await back.hello(last_msg_id=away.last_msg_id)
    resume = await back.expect("RESUME")
    view = resume["payload"]["data"]
    assert view["prompt"] == pending  # the pending prompt, not sent again
    assert resume["msg_id"] == away.last_msg_id  # the seat heard nothing while away
    assert view["players"][away.seat]["connected"] is True
    # RESUME answers from a read; the connection is written (and the others told) just after.
    assert view["recent_events"][-1] == {"event": "disconnected", "seat": away.seat}
    returned = await other.receive()
    assert returned["payload"]["data"] == {"event": "reconnected", "seat": away.seat}
    await back.quiet()

    await back.answer()
    assert (await back.receive())["msg_id"] == resume["msg_id"] + 1


# --- Prompts and draw notices --------------------------------------------------------------


async def _status(seat):
    return (await seat.request("GET_GAME_STATUS", expect="GAME_STATUS"))["payload"]["data"]


async def test_question_name_and_give_prompts(game2):
    room_id, seats = game2
    await settle(seats)
    await db(install_state)(room_id, ["red/? red/cup blue/cross", "green/cup#1 green/square yellow/triangle"],
                            "red/cross", current=0)
    asker, giver = seats
    await _status(asker)
    await _status(giver)

    await asker.answer({"cards": [parse_card("red/?")], "last_card": False})

    played = await asker.expect("GAME_EVENT")
    assert played["payload"]["data"] == {"event": "played", "seat": 0, "cards": [wire(parse_card("red/?"))]}
    name = await asker.expect("GAME_MESSAGE_REP")
    payload = name["payload"]
    assert (payload["data"], payload["next_cmd"], payload["return_type"], payload["extra_data"]) == (
        {"kind": "name"}, "PICK_OPTION", "STR", list(NAME_OPTIONS))
    await giver.expect("GAME_EVENT")
    await giver.quiet()

    await asker.answer("cup")

    question = await giver.expect("GAME_EVENT")
    assert question["payload"]["data"] == {"event": "question", "seat": 0, "shape": "cup"}
    give = await giver.expect("GAME_MESSAGE_REP")
    assert give["payload"]["data"] == {"kind": "give", "question": {"seat": 0, "shape": "cup"}}
    assert give["payload"]["extra_data"] == [parse_card("green/cup#1")]
    assert "Ann" in give["payload"]["prompt"]
    view = await _status(giver)
    assert view["question"] == {"seat": 0, "shape": "cup"} and view["awaiting_seat"] == 1

    await giver.answer({"cards": [parse_card("green/cup#1")]})

    gave = await giver.expect("GAME_EVENT")
    assert gave["payload"]["data"] == {"event": "gave", "seat": 1, "card": wire(parse_card("green/cup#1"))}
    assert gave["payload"]["top_card"] == wire(parse_card("green/cup#1"))
    turn = await giver.expect("GAME_EVENT")
    assert turn["payload"]["data"] == {"event": "turn", "seat": 0}


async def test_drop_gives_a_discard_prompt(game2):
    room_id, seats = game2
    await settle(seats)
    await db(install_state)(room_id, ["red/- red/cup blue/cross green/square", "yellow/triangle yellow/cup"],
                            "red/cross", current=0)
    player = seats[0]
    await _status(player)

    await player.answer({"cards": [parse_card("red/-")]})

    await player.expect("GAME_EVENT")
    discard = await player.expect("GAME_MESSAGE_REP")
    payload = discard["payload"]
    assert (payload["data"], payload["next_cmd"], payload["return_type"], payload["extra_data"]) == (
        {"kind": "discard", "count": 1}, "PICK_CARDS", "LIST", None)

    await player.answer({"cards": [parse_card("blue/cross")], "last_card": False})

    discarded = await player.expect("GAME_EVENT")
    assert discarded["payload"]["data"] == {"event": "discarded", "seat": 0, "cards": [wire(parse_card("blue/cross"))]}
    assert discarded["payload"]["top_card"] == wire(parse_card("blue/cross"))


async def test_a_draw_sends_a_notice_then_the_public_event(game2):
    room_id, seats = game2
    await settle(seats)
    await db(install_state)(room_id, ["red/cup", "yellow/triangle yellow/cup"], "blue/cross", current=0)
    drawer, other = seats
    await _status(drawer)

    await drawer.answer({"cards": []})

    notice = await drawer.expect("GAME_MESSAGE_REP")
    payload = notice["payload"]
    assert payload["flag"] == "GAME_CONTINUE" and payload["return_type"] is None
    assert payload["next_cmd"] == "PICK_ONE" and payload["data"] == {"reason": "draw"}
    assert len(payload["extra_data"]) == 1
    drew = await drawer.expect("GAME_EVENT")
    assert drew["payload"]["data"] == {"event": "drew", "seat": 0, "count": 1, "reason": "draw"}
    assert drew["msg_id"] == notice["msg_id"] + 1
    seen = await other.skip_to("GAME_EVENT")
    assert seen["payload"]["data"] == {"event": "drew", "seat": 0, "count": 1, "reason": "draw"}
    assert payload["extra_data"][0] in (await _status(drawer))["you"]["hand"]


async def test_a_wrong_play_under_a_pending_pick_sends_two_notices(game2):
    room_id, seats = game2
    await settle(seats)
    await db(install_state)(room_id, ["red/cup red/cross", "yellow/triangle"], "blue/2", current=0,
                            pending_pick={"symbol": "pick_two", "total": 4})
    player = seats[0]
    await _status(player)

    await player.answer({"cards": [parse_card("red/cup")]})

    penalty = await player.expect("GAME_EVENT")
    assert penalty["payload"]["data"]["event"] == "penalty"
    assert penalty["payload"]["data"]["reason"] == "wrong_play" and penalty["payload"]["data"]["detail"]
    pick = await player.expect("GAME_MESSAGE_REP")
    assert (pick["payload"]["next_cmd"], pick["payload"]["data"]) == ("PICK_CARDS", {"reason": "pick"})
    assert len(pick["payload"]["extra_data"]) == 4
    assert (await player.expect("GAME_EVENT"))["payload"]["data"]["count"] == 4
    penalty_draw = await player.expect("GAME_MESSAGE_REP")
    assert (penalty_draw["payload"]["next_cmd"], penalty_draw["payload"]["data"]) == ("PICK_TWO", {"reason": "wrong_play"})
    assert (await player.expect("GAME_EVENT"))["payload"]["data"]["reason"] == "wrong_play"
    other_penalty = await seats[1].skip_to("GAME_EVENT")
    assert other_penalty["payload"]["data"] == {"event": "penalty", "seat": 0, "reason": "wrong_play"}
    assert sorted(player.hand) == sorted(parse_cards("red/cup red/cross") + [
        c["id"] for f in (pick, penalty_draw) for c in f["payload"]["extra_data"]])
