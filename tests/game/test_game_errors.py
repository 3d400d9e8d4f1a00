"""Every error of the game socket: the right code, in docs/protocol.md's order, and nothing changed."""

import asyncio
import json
import threading

import pytest
from channels.db import database_sync_to_async

from game.consumers import COMMANDS_WAITING, FLOODED_CLOSE
from game.engine import parse_card
from game.models import ChatLine, Game
from tests.game.conftest import game_row, install_state, settle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


async def refused(seat, room_id: int, cmd: str, payload=None, raw: str | None = None) -> dict:
    """Send a frame that must be refused; return the error data after checking nothing changed."""
    before = await database_sync_to_async(game_row)(room_id)
    if raw is None:
        msg_id = await seat.send(cmd, payload)
    else:
        await seat.send_raw(raw)
        msg_id = None
    error = await seat.expect("ERROR")
    if msg_id is not None:
        assert error["reply_to"] == msg_id
    await seat.quiet()
    assert await database_sync_to_async(game_row)(room_id) == before, "an error changed the game"
    return error["payload"]["data"]


@pytest.fixture
async def position(game2):
    """Seat 0 to play with a known hand: red/cup red/cross blue/square green/2 on red/circle."""
    room_id, seats = game2
    await settle(seats)
    await database_sync_to_async(install_state)(
        room_id, ["red/cup red/cross blue/square green/2", "yellow/triangle yellow/cup"], "red/circle", current=0)
    for seat in seats:
        await seat.request("GET_GAME_STATUS", expect="GAME_STATUS")
    return room_id, seats


async def test_game_message_before_the_game_begins(make_room, connect):
    room_id, tokens = await make_room(2)
    seat = await connect(room_id, tokens[0])
    await seat.hello()
    await seat.expect("ROOMMATES")

    error = await seat.request("GAME_MESSAGE", {"reply_to": 1, "data": {"cards": []}}, expect="ERROR")

    assert error["payload"]["data"]["code"] == "GAME_NOT_STARTED"
    assert await database_sync_to_async(Game.objects.filter(room_id=room_id).exists)() is False
    assert (await seat.request("GET_GAME_STATUS", expect="ERROR"))["payload"]["data"]["code"] == "GAME_NOT_STARTED"


async def test_game_paused_comes_before_stale_prompt(position):
    room_id, seats = position
    await database_sync_to_async(Game.objects.filter(room_id=room_id).update)(status="paused")

    data = await refused(seats[1], room_id, "GAME_MESSAGE", {"reply_to": 999, "data": {"cards": []}})

    assert data["code"] == "GAME_PAUSED"


async def test_stale_prompt_for_an_answered_prompt(position):
    room_id, seats = position
    player, other = seats
    old = player.prompt["msg_id"]
    await player.answer({"cards": [parse_card("red/cup")], "last_card": False})
    await player.drain()

    # Seat 0 owes nothing now, but names its own earlier prompt: STALE_PROMPT, not NOT_YOUR_TURN.
    data = await refused(player, room_id, "GAME_MESSAGE", {"reply_to": old, "data": {"cards": []}})

    assert data["code"] == "STALE_PROMPT"


async def test_stale_prompt_when_another_prompt_is_owed(position):
    room_id, seats = position
    player = seats[0]

    data = await refused(player, room_id, "GAME_MESSAGE", {"reply_to": player.prompt["msg_id"] - 1,
                                                           "data": {"cards": [parse_card("red/cup")]}})

    assert data["code"] == "STALE_PROMPT"


async def test_not_your_turn(position):
    room_id, seats = position

    # Seat 1 owes nothing, and these name none of its prompts (msg_ids are per seat).
    for reply_to in (10 ** 6, None):
        data = await refused(seats[1], room_id, "GAME_MESSAGE", {"reply_to": reply_to,
                                                                 "data": {"cards": [parse_card("yellow/cup")]}})
        assert data["code"] == "NOT_YOUR_TURN"


@pytest.mark.parametrize("data", [
    {"cards": [parse_card("red/cup"), parse_card("red/cup")]},  # a card named twice
    {"cards": "red/cup"},  # not a list
    {"cards": [parse_card("red/cup")], "last_card": "yes"},
    "red",  # a name answer to a turn prompt
    None,
])
async def test_invalid_answers(position, data):
    room_id, seats = position

    error = await refused(seats[0], room_id, "GAME_MESSAGE", {"reply_to": seats[0].prompt["msg_id"], "data": data})

    assert error["code"] == "INVALID"


async def test_invalid_comes_before_not_in_hand(position):
    room_id, seats = position

    error = await refused(seats[0], room_id, "GAME_MESSAGE", {"reply_to": seats[0].prompt["msg_id"],
                                                              "data": {"cards": [parse_card("yellow/cup")] * 2}})

    assert error["code"] == "INVALID"


async def test_not_in_hand(position):
    room_id, seats = position

    error = await refused(seats[0], room_id, "GAME_MESSAGE", {"reply_to": seats[0].prompt["msg_id"],
                                                              "data": {"cards": [parse_card("yellow/cup")]}})

    assert error == {"code": "NOT_IN_HAND", "field": "data"}


async def test_a_wrong_discard_count_is_invalid_and_the_prompt_stays(position):
    room_id, seats = position
    await database_sync_to_async(install_state)(
        room_id, ["red/- red/cup blue/cross green/square", "yellow/triangle"], "red/cross", current=0)
    player = seats[0]
    await player.request("GET_GAME_STATUS", expect="GAME_STATUS")
    await player.answer({"cards": [parse_card("red/-")]})
    await player.expect("GAME_EVENT")
    prompt = (await player.expect("GAME_MESSAGE_REP"))["msg_id"]

    error = await refused(player, room_id, "GAME_MESSAGE", {"reply_to": prompt, "data": {
        "cards": [parse_card("red/cup"), parse_card("blue/cross")]}})

    assert error["code"] == "INVALID"
    await player.send("GAME_MESSAGE", {"reply_to": prompt, "data": {"cards": [parse_card("red/cup")]}})
    assert (await player.expect("GAME_EVENT"))["payload"]["data"]["event"] == "discarded"


async def test_no_pending_prompt_after_the_game_is_over(make_room, connect):
    room_id, tokens = await make_room(2, computers=1)
    seat = await connect(room_id, tokens[0])
    await seat.hello()
    await seat.skip_to("GAME_BEGIN")
    await seat.play_until_over()

    for cmd, payload in (("GAME_MESSAGE", {"reply_to": seat.last_msg_id, "data": {"cards": []}}),
                         ("CHAT", {"text": "gg"})):
        assert (await refused(seat, room_id, cmd, payload))["code"] == "NO_PENDING_PROMPT"
    status = await seat.request("GET_GAME_STATUS", expect="GAME_STATUS")
    assert status["payload"]["data"]["status"] == "finished" and status["payload"]["data"]["prompt"] is None


@pytest.mark.parametrize("raw, code", [
    ("x" * 20000, "TOO_LARGE"),
    ("{not json", "BAD_JSON"),
    ("[1, 2]", "BAD_MESSAGE"),
    ('{"cmd": "CHAT", "payload": []}', "BAD_MESSAGE"),
    ('{"cmd": "GET_ROOMS", "msg_id": 7}', "UNKNOWN_CMD"),
    ('{"cmd": "NONSENSE"}', "UNKNOWN_CMD"),
])
async def test_frame_errors(position, raw, code):
    room_id, seats = position

    data = await refused(seats[0], room_id, None, raw=raw)

    assert data["code"] == code


async def test_unknown_cmd_replies_to_its_msg_id(position):
    room_id, seats = position

    await seats[0].send_raw(json.dumps({"cmd": "GET_ROOMS", "msg_id": 77}))

    error = await seats[0].expect("ERROR")
    assert error["reply_to"] == 77


async def test_rate_limited(position, settings):
    room_id, seats = position
    settings.RATE_LIMIT = 0.01  # a burst of one frame, then one every 100 s; read by new connections
    from tests.game.helpers import CommunicatorClient

    client = await CommunicatorClient(room_id, seats[0].token).connect()
    try:
        await client.hello()
        await client.expect("RESUME")
        await client.send("GET_GAME_STATUS")
        await client.expect("GAME_STATUS")
        before = await database_sync_to_async(game_row)(room_id)
        await client.send("CHAT", {"text": "spam"})
        error = await client.expect("ERROR")
        assert error["payload"]["data"]["code"] == "RATE_LIMITED"
        assert await database_sync_to_async(game_row)(room_id) == before
    finally:
        await client.close()


async def test_a_seat_that_sends_too_many_frames_ahead_of_their_answers_is_closed(position):
    """A seat's frames wait while the one before is at the database: one past COMMANDS_WAITING
    of them closes the socket (1008), and the frames already waiting still count."""
    room_id, seats = position
    seat = seats[0]
    gate = threading.Event()
    # Holds the process's one ORM thread, as a slow database would.
    holding = asyncio.create_task(database_sync_to_async(gate.wait)())
    try:
        await asyncio.sleep(0.1)
        await seat.send("GET_GAME_STATUS")
        await asyncio.sleep(0.1)  # taken from the queue: waiting for the database
        for _ in range(COMMANDS_WAITING):
            await seat.send("GET_GAME_STATUS")
        await seat.quiet(0.2)  # a thousand frames may wait: no answer yet, and no close
        await seat.send("CHAT", {"text": "one too many"})
        code = await seat.receive_close()
    finally:
        gate.set()
        await holding

    assert code == FLOODED_CLOSE
    await asyncio.sleep(0.5)
    assert not await database_sync_to_async(ChatLine.objects.filter(text="one too many").exists)()


async def test_chat_text_is_checked(position):
    room_id, seats = position

    for text in ("", "x" * 201, "bell\x07"):
        assert (await refused(seats[0], room_id, "CHAT", {"text": text}))["code"] == "INVALID"


async def test_a_second_hello_is_invalid(position):
    room_id, seats = position

    assert (await refused(seats[0], room_id, "HELLO", {"token": seats[0].token}))["code"] == "INVALID"
