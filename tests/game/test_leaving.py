"""Leaving a game (docs/protocol.md "Leaving a game"): each of the seven steps, the edge cases,
and coming back, against the real consumer, database and channel layer (memory and Redis)."""

import pytest
from channels.db import database_sync_to_async

from game.engine import parse_card
from game.models import Game, SavedGameState
from lobby_site.wire import resume_code
from rooms.models import Player, Room
from rooms.services import rooms_open
from tests.game.conftest import begun_game, event_of, install_state, settle
from tests.game.helpers import conservation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def db(fn):
    return database_sync_to_async(fn)


def _game(room_id: int) -> Game:
    return Game.objects.get(room_id=room_id)


async def status(seat) -> dict:
    return (await seat.request("GET_GAME_STATUS", expect="GAME_STATUS"))["payload"]["data"]


async def pause(leaver, everyone) -> dict:
    """Send LEAVE_REQUEST from `leaver`: every seat hears `paused` then gets PLAYER_STATE; return the leaver's."""
    await leaver.send("LEAVE_REQUEST", {})
    states = {}
    for seat in everyone:
        paused = await seat.expect("GAME_EVENT")
        assert paused["payload"]["data"] == {"event": "paused", "seat": leaver.seat}
        states[seat.seat] = await seat.expect("PLAYER_STATE")
        assert states[seat.seat]["msg_id"] == paused["msg_id"]  # a snapshot uses up no msg_id
    return states[leaver.seat]


async def leave(leaver, stayers) -> None:
    """Send LEAVE: the leaver gets LEAVE_REP and is closed; each stayer hears `left` and gets CREATE_A_COMPUTER."""
    before = leaver.last_msg_id
    await leaver.send("LEAVE", {})
    rep = await leaver.expect("LEAVE_REP")
    assert rep["msg_id"] == before + 1 and rep["payload"]["data"] == {"seat": leaver.seat}
    assert await leaver.receive_close() == 1000
    for seat in stayers:
        left = await seat.expect("GAME_EVENT")
        assert left["payload"]["data"]["event"] == "left" and left["payload"]["data"]["seat"] == leaver.seat
        ask = await seat.expect("CREATE_A_COMPUTER")
        assert ask["msg_id"] == left["msg_id"] + 1
        assert ask["payload"]["data"]["seat"] == leaver.seat
        assert ask["payload"]["next_cmd"] == "ADD_COMPUTER"


async def unauthorized(connect, room_id: int, token: str, **hello) -> None:
    seat = await connect(room_id, token)
    await seat.send("HELLO", hello or {"token": token})
    assert (await seat.expect("ERROR"))["payload"]["data"]["code"] == "UNAUTHORIZED"
    assert await seat.receive_close() == 4401


# --- Before the game -------------------------------------------------------------------------


async def test_leaving_before_the_game_frees_the_seat_and_reopens_the_room(make_room, connect):
    room_id, tokens = await make_room(3, humans=2)
    stayer, leaver = await connect(room_id, tokens[0]), await connect(room_id, tokens[1])
    await stayer.hello()
    await leaver.hello()
    assert [r["needed"] for r in await db(rooms_open)()] == [1]

    await leaver.send("LEAVE_REQUEST", {})

    rep = await leaver.skip_to("LEAVE_REP")
    assert rep["msg_id"] is None and rep["payload"]["data"] == {"seat": 1}
    assert await leaver.receive_close() == 1000
    listed = await db(rooms_open)()
    assert [(r["room_id"], r["needed"]) for r in listed] == [(room_id, 2)]
    assert not await db(Player.objects.filter(room_id=room_id, seat=1).exists)()
    roommates = await stayer.skip_to("ROOMMATES", skip=())
    while len(roommates["payload"]["data"]["players"]) != 1:
        roommates = await stayer.skip_to("ROOMMATES", skip=())
    await unauthorized(connect, room_id, tokens[1])


# --- The seven steps ----------------------------------------------------------------------


async def test_the_seven_steps_then_the_leaver_reclaims_the_seat(game2, connect):
    room_id, seats = game2
    stayer, leaver = seats
    await settle(seats)
    await db(install_state)(room_id, ["red/cup red/cross blue/square", "yellow/triangle yellow/cup green/2"],
                            "red/circle", current=0)
    await status(stayer)
    await status(leaver)
    interrupted = stayer.prompt
    before = await db(_game)(room_id)

    # 1-3: LEAVE_REQUEST pauses and saves the game; every human gets PLAYER_STATE.
    state = await pause(leaver, seats)
    view = state["payload"]["data"]
    assert view["status"] == "paused" and view["prompt"] is None
    assert view["vote"]["seats"] == [] and view["vote"]["waiting_for"] == []
    assert [c["id"] for c in view["you"]["hand"]] == sorted(leaver.hand)
    saved = await db(SavedGameState.objects.get)(room_id=room_id)
    assert saved.reason == "leave" and saved.state == before.state and saved.version == before.version
    assert (await db(Room.objects.get)(pk=room_id)).status == "paused"
    # 2: the cancelled prompt's answer gets GAME_PAUSED; nothing is pending for a vote yet.
    error = await stayer.request("GAME_MESSAGE", {"reply_to": interrupted["msg_id"],
                                                  "data": {"cards": [], "last_card": False}}, expect="ERROR")
    assert error["payload"]["data"]["code"] == "GAME_PAUSED"
    error = await stayer.request("ADD_COMPUTER", {}, expect="ERROR")
    assert error["payload"]["data"]["code"] == "NO_PENDING_PROMPT"
    error = await stayer.request("LEAVE", {}, expect="ERROR")
    assert error["payload"]["data"]["code"] == "NO_PENDING_PROMPT"

    # 4-6: LEAVE: LEAVE_REP and closed; the stayer is asked about a computer.
    await leave(leaver, [stayer])
    vote = (await status(stayer))["vote"]
    assert vote["seats"] == [1] and vote["waiting_for"] == [0]
    await unauthorized(connect, room_id, leaver.token)  # during the pause

    # 7: ADD_COMPUTER: a computer takes the seat with the leaver's hand; the decision is asked again.
    await stayer.send("ADD_COMPUTER", {})
    joined = await stayer.expect("GAME_EVENT")
    assert joined["payload"]["data"] == {"event": "computer_joined", "seat": 1, "name": "Player 1"}
    resumed = await stayer.expect("GAME_EVENT")
    assert resumed["payload"]["data"] == {"event": "resumed", "seat": 0}
    prompt = await stayer.expect("GAME_MESSAGE_REP")
    assert prompt["msg_id"] > interrupted["msg_id"]
    assert prompt["payload"] == interrupted["payload"]
    after = await db(_game)(room_id)
    assert after.state == before.state  # nobody drew twice
    assert after.status == "playing" and (await db(Room.objects.get)(pk=room_id)).status == "playing"
    computer = await db(Player.objects.get)(room_id=room_id, seat=1)
    assert computer.is_computer and computer.name == "Computer 1"
    view = await status(stayer)
    assert view["vote"] is None and view["players"][1]["is_computer"] is True

    # The computer plays in the seat: after the stayer's move it answers inline.
    await stayer.answer({"cards": [parse_card("red/cup")], "last_card": False})
    await event_of(stayer, "played")
    assert (await event_of(stayer, "turn")) == {"event": "turn", "seat": 1}
    await event_of(stayer, "turn")
    while stayer.prompt is None:
        await stayer.receive()

    # Coming back with the kept token takes the seat back (reclaimed) with the computer's hand.
    back = await connect(room_id, leaver.token)
    await back.hello()
    resume = await back.expect("RESUME")
    game = await db(_game)(room_id)
    assert sorted(back.hand) == sorted(game.state["hands"][1])
    assert resume["payload"]["data"]["you"]["name"] == "Player 1"
    assert resume["msg_id"] == game.seats[1]["msg_id"]
    assert (await event_of(stayer, "reclaimed")) == {"event": "reclaimed", "seat": 1}
    player = await db(Player.objects.get)(room_id=room_id, seat=1)
    assert not player.is_computer and player.name == "Player 1"


async def _give_pending(room_id, seats):
    """Seat 0 asks (red/?, "cup"): seat 1 owes a give."""
    await db(install_state)(room_id, ["red/? red/cup blue/cross", "green/cup#1 green/square yellow/triangle"],
                            "red/cross", current=0)
    for seat in seats:
        await status(seat)
    await seats[0].answer({"cards": [parse_card("red/?")], "last_card": False})
    await seats[0].expect("GAME_EVENT")
    await seats[0].expect("GAME_MESSAGE_REP")
    await seats[0].answer("cup")
    while seats[1].prompt is None or seats[1].prompt["payload"]["data"]["kind"] != "give":
        await seats[1].receive()
    await seats[0].drain()


async def _name_pending(room_id, seats):
    """Seat 0 played red/?: seat 0 owes a name."""
    await db(install_state)(room_id, ["red/? red/cup blue/cross", "green/cup#1 green/square yellow/triangle"],
                            "red/cross", current=0)
    for seat in seats:
        await status(seat)
    await seats[0].answer({"cards": [parse_card("red/?")], "last_card": False})
    while seats[0].prompt is None:
        await seats[0].receive()
    await seats[1].drain()


async def _discard_pending(room_id, seats):
    """Seat 0 played red/- (drop): seat 0 owes a discard of one card."""
    await db(install_state)(room_id, ["red/- red/cup blue/cross", "green/cup#1 green/square yellow/triangle"],
                            "red/cross", current=0)
    for seat in seats:
        await status(seat)
    await seats[0].answer({"cards": [parse_card("red/-")], "last_card": False})
    while seats[0].prompt is None:
        await seats[0].receive()
    await seats[1].drain()


PENDING = {"give": _give_pending, "name": _name_pending, "discard": _discard_pending}


@pytest.mark.parametrize("pending", PENDING)
async def test_leaving_while_a_prompt_is_pending_for_someone_else(game2, pending):
    room_id, seats = game2
    await settle(seats)
    await PENDING[pending](room_id, seats)
    holder = next(seat for seat in seats if seat.prompt)
    leaver = next(seat for seat in seats if seat is not holder)
    interrupted = holder.prompt
    assert interrupted["payload"]["data"]["kind"] == pending
    before = (await db(_game)(room_id)).state

    await pause(leaver, seats)
    await leave(leaver, [holder])
    await holder.send("ADD_COMPUTER", {})

    await event_of(holder, "resumed")
    prompt = await holder.expect("GAME_MESSAGE_REP")
    # The same decision (its text may name the computer now sitting in the leaver's seat).
    assert {**prompt["payload"], "prompt": ""} == {**interrupted["payload"], "prompt": ""}
    assert prompt["msg_id"] > interrupted["msg_id"]
    assert (await db(_game)(room_id)).state == before
    await holder.answer()
    assert (await holder.receive())["cmd"] == "GAME_EVENT"


async def test_leaving_under_a_pending_pick_the_computer_answers_it_once(game2):
    room_id, seats = game2
    await settle(seats)
    pick = {"symbol": "pick_two", "total": 2}
    await db(install_state)(room_id, ["red/cup red/cross", "yellow/triangle yellow/cup green/2"],
                            "red/pick_two", current=1, pending_pick=pick)
    stayer, leaver = seats
    for seat in seats:
        await status(seat)
    assert leaver.prompt["payload"]["data"]["pending_pick"] == pick
    before = (await db(_game)(room_id)).state

    await pause(leaver, seats)
    await leave(leaver, [stayer])
    await stayer.send("ADD_COMPUTER", {})
    await event_of(stayer, "resumed")

    # The computer in seat 1 answers the pick (with a pick two, or by taking 2): one answer only.
    while stayer.prompt is None:
        await stayer.receive()
    after = (await db(_game)(room_id)).state
    conservation(after)
    drawn = [f["payload"]["data"] for f in stayer.frames
             if f["cmd"] == "GAME_EVENT" and f["payload"]["data"]["event"] == "drew"]
    assert sum(d["count"] for d in drawn if d["seat"] == 1) <= 2
    assert len(after["market"]) >= len(before["market"]) - 2 - sum(d["count"] for d in drawn if d["seat"] == 0)
    assert after["pending_pick"] is None or after["current"] == 0


# --- Several leaving, the last human, timeouts ----------------------------------------------


async def test_several_leave_at_once_and_one_vote_fills_every_seat(make_room, connect):
    room_id, seats = await begun_game(make_room, connect, 3)
    await settle(seats)
    for seat in seats:
        await seat.drain()
    stayer, first, second = seats

    await pause(first, seats)
    await second.send("LEAVE_REQUEST", {})  # during the pause: a second leave
    for seat in seats:  # every human gets the state again
        assert (await event_of(seat, "paused")) == {"event": "paused", "seat": 2}
        assert (await seat.expect("PLAYER_STATE"))["payload"]["data"]["vote"]["leaving"] == [1, 2]
    await leave(first, [stayer])
    assert (await status(stayer))["vote"]["waiting_for"] == [0]
    await stayer.send("ADD_COMPUTER", {})  # counted, but the vote waits for the second leaver
    await stayer.quiet()
    assert (await status(stayer))["vote"] == {"seats": [1], "waiting_for": [], "leaving": [2]}
    assert (await event_of(second, "left"))["seat"] == 1  # a leaver still hears the game until it leaves
    await leave(second, [stayer])  # restarts the vote: the stayer is asked again
    await stayer.send("ADD_COMPUTER", {})

    assert (await event_of(stayer, "computer_joined"))["seat"] == 1
    assert (await stayer.expect("GAME_EVENT"))["payload"]["data"]["seat"] == 2
    assert (await stayer.expect("GAME_EVENT"))["payload"]["data"]["event"] == "resumed"
    players = await db(lambda: list(Player.objects.filter(room_id=room_id).order_by("seat")
                                    .values_list("name", "is_computer")))()
    assert players == [("Ann", False), ("Computer 1", True), ("Computer 2", True)]
    over = await stayer.play_until_over()
    assert over["winner"] in (0, 1, 2)


async def test_the_last_human_leaving_abandons_the_game_and_closes_the_room(game2, connect):
    room_id, seats = game2
    await settle(seats)
    for seat in seats:
        await seat.drain()
    last, first = seats

    await pause(first, seats)
    await leave(first, [last])
    await last.send("LEAVE_REQUEST", {})  # instead of answering the vote
    assert (await event_of(last, "paused"))["seat"] == 0
    await last.expect("PLAYER_STATE")
    await last.send("LEAVE", {})
    await last.expect("LEAVE_REP")
    assert await last.receive_close() == 1000

    game = await db(_game)(room_id)
    assert game.status == "abandoned"
    assert (await db(Room.objects.get)(pk=room_id)).status == "closed"
    reasons = await db(lambda: list(SavedGameState.objects.filter(room_id=room_id)
                                    .order_by("id").values_list("reason", flat=True)))()
    assert reasons == ["leave", "leave", "abandoned"]
    await unauthorized(connect, room_id, first.token)
    await unauthorized(connect, room_id, last.token)


async def test_closing_the_socket_after_leave_request_counts_as_leave(game2):
    room_id, seats = game2
    await settle(seats)
    for seat in seats:
        await seat.drain()
    stayer, leaver = seats

    await pause(leaver, seats)
    await leaver.close()

    assert (await event_of(stayer, "left"))["seat"] == 1
    await stayer.expect("CREATE_A_COMPUTER")
    assert (await db(_game)(room_id)).pause["vacant"] == [1]


async def test_silence_past_vote_timeout_counts_as_leave_and_as_choosing_the_computer(game2, settings):
    room_id, seats = game2
    await settle(seats)
    for seat in seats:
        await seat.drain()
    stayer, leaver = seats
    settings.VOTE_TIMEOUT = 0.5

    await pause(leaver, seats)  # then neither says anything

    await leaver.expect("LEAVE_REP")
    assert await leaver.receive_close() == 1000
    await stayer.expect("GAME_EVENT")  # left
    await stayer.expect("CREATE_A_COMPUTER")
    assert (await event_of(stayer, "computer_joined"))["seat"] == 1
    await event_of(stayer, "resumed")
    assert (await db(_game)(room_id)).status == "playing"


async def test_a_stayer_who_disconnects_counts_as_choosing_the_computer(make_room, connect):
    room_id, seats = await begun_game(make_room, connect, 3)
    await settle(seats)
    for seat in seats:
        await seat.drain()
    voter, leaver, dropper = seats

    await pause(leaver, seats)
    await leave(leaver, [voter, dropper])
    await dropper.close()
    assert (await event_of(voter, "disconnected"))["seat"] == 2
    assert (await status(voter))["vote"]["waiting_for"] == [0]
    await voter.send("ADD_COMPUTER", {})

    await event_of(voter, "resumed")
    assert (await db(_game)(room_id)).status == "playing"


# --- Errors and coming back --------------------------------------------------------------------


async def test_add_computer_and_leave_with_nothing_pending(game2):
    room_id, seats = game2
    await settle(seats)
    for seat in seats:
        await seat.drain()
    for cmd in ("ADD_COMPUTER", "LEAVE"):
        error = await seats[0].request(cmd, {}, expect="ERROR")
        assert error["payload"]["data"]["code"] == "NO_PENDING_PROMPT"
    assert (await db(_game)(room_id)).status == "playing"


async def _left_and_resumed(room_id, seats):
    stayer, leaver = seats
    await settle(seats)
    for seat in seats:
        await seat.drain()
    await pause(leaver, seats)
    await leave(leaver, [stayer])
    await stayer.send("ADD_COMPUTER", {})
    await event_of(stayer, "resumed")


async def test_the_resume_code_reclaims_the_seat(game2, connect):
    room_id, seats = game2
    await _left_and_resumed(room_id, seats)
    code = resume_code(room_id, seats[1].token)
    assert code == f"{room_id}.{seats[1].token}"
    await unauthorized(connect, room_id + 1000, seats[1].token, resume_code=code)  # not this room's code

    back = await connect(room_id, seats[1].token)
    await back.send("HELLO", {"resume_code": code})
    assert (await back.expect("CONNECTED"))["payload"]["data"]["player"]["seat"] == 1
    await back.expect("RESUME")
    assert (await event_of(seats[0], "reclaimed"))["seat"] == 1


async def test_a_left_token_is_unauthorized_once_the_game_is_over(game2, connect):
    room_id, seats = game2
    await _left_and_resumed(room_id, seats)

    await seats[0].play_until_over()

    await unauthorized(connect, room_id, seats[1].token)
