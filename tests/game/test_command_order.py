"""A seat's frames are handled one after another, in the order they came, while the seat's own
group events (its move's frames) reach it as soon as they are sent (game/consumers.py
`GameConsumer._handle_commands`). Real consumer, database and channel layer (memory and Redis)."""

import asyncio
import threading

import pytest

import game.services
from tests.game.conftest import settle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

HELD = 10  # seconds at most that a test holds a service call from returning


async def test_the_movers_frames_do_not_wait_for_its_service_call_to_return(game2, monkeypatch):
    """The move's frames go out on commit; the mover gets its own before the service call returns."""
    room_id, seats = game2
    await settle(seats)
    mover = next(seat for seat in seats if seat.prompt)
    answer = game.services.game_answer
    returned = threading.Event()

    def answer_held(**kwargs):
        answer(**kwargs)
        returned.wait(HELD)  # committed and sent: hold the return until the mover has its frame

    monkeypatch.setattr(game.services, "game_answer", answer_held)
    before = mover.last_msg_id
    try:
        await mover.answer()
        frame = await mover.receive(HELD / 2)
    finally:
        returned.set()

    assert frame["msg_id"] == before + 1 and frame["cmd"] == "GAME_MESSAGE_REP"  # the first frame of the move


async def test_a_frame_sent_after_a_move_is_handled_after_it(game2):
    """GAME_MESSAGE then GET_GAME_STATUS at once: the status already holds the move."""
    room_id, seats = game2
    await settle(seats)
    mover = next(seat for seat in seats if seat.prompt)
    prompt_msg_id = mover.prompt["msg_id"]

    await mover.answer()
    status = await mover.request("GET_GAME_STATUS", expect="GAME_STATUS")

    assert status["msg_id"] > prompt_msg_id
    assert status["payload"]["data"]["prompt"] is None or status["payload"]["data"]["prompt"]["msg_id"] > prompt_msg_id
    assert not mover.errors


async def test_a_move_sent_just_before_the_close_is_played(game2, monkeypatch):
    """What a client sent before it closed still counts: a move still waiting its turn behind
    another frame when the socket closes is played, and the other seat sees it."""
    room_id, seats = game2
    await settle(seats)
    mover = next(seat for seat in seats if seat.prompt)
    other = next(seat for seat in seats if seat is not mover)
    seen = len(other.frames)
    status = game.services.game_status
    released = threading.Event()

    def status_held(**kwargs):
        released.wait(HELD)
        return status(**kwargs)

    monkeypatch.setattr(game.services, "game_status", status_held)
    try:
        await mover.send("GET_GAME_STATUS")
        await mover.answer()  # waits behind the status
        closing = asyncio.create_task(mover.close())
        await asyncio.sleep(0.2)  # the close is handled while the status is still held
    finally:
        released.set()
    await closing

    await other.drain(1.0)
    events = [f["payload"]["data"] for f in other.frames[seen:] if f["cmd"] == "GAME_EVENT"]
    moved = [e for e in events if e["event"] in ("played", "drew") and e["seat"] == mover.seat]
    assert len(moved) == 1, events


async def test_a_binary_frame_is_a_bad_message_and_the_seat_plays_on(game2):
    """A binary frame (no text) is refused like any bad frame, and the frames after it are handled."""
    room_id, seats = game2
    await settle(seats)
    mover = next(seat for seat in seats if seat.prompt)

    await mover.communicator.send_to(bytes_data=b'{"cmd": "GET_GAME_STATUS", "msg_id": 1}')
    refusal = await mover.expect("ERROR")
    status = await mover.request("GET_GAME_STATUS", expect="GAME_STATUS")

    assert refusal["payload"]["data"]["code"] == "BAD_MESSAGE"
    assert status["payload"]["data"]["prompt"] == mover.prompt
