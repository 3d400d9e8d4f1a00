"""The client's frame handling, fed frames directly (no server): batches, msg_id gaps and
resyncs, duplicates after a snapshot, hand tracking, and the bot's answers."""

import asyncio
import json
import random

import pytest
import websockets

from game.engine import WIRE, check_play, parse_card, parse_cards
from game.engine.rules import starting_cards
from lobby_site.bot import choose_answer
from lobby_site.client import SeatClient, SeatState, decode_message
from lobby_site.wire import Flag, ServerCmd, check_frame, frame

TOP = parse_card("red/cup")


def numbered(cmd, msg_id, data=None, **payload):
    message = frame(cmd, "text", data=data, msg_id=msg_id, top_card=payload.pop("top_card", WIRE[TOP]), **payload)
    check_frame(message)
    return message


def event(msg_id, **data):
    return numbered(ServerCmd.GAME_EVENT, msg_id, data)


def prompt(msg_id, options, kind="turn"):
    return numbered(ServerCmd.GAME_MESSAGE_REP, msg_id, {"kind": kind, "pending_pick": None},
                    next_cmd="PICK_CARDS", return_type="LIST", flag=Flag.USER_INPUT_CONTINUE, extra_data=options)


def draw_notice(msg_id, cards):
    return numbered(ServerCmd.GAME_MESSAGE_REP, msg_id, {"reason": "draw"}, next_cmd="PICK_ONE",
                    flag=Flag.GAME_CONTINUE, extra_data=[WIRE[c] for c in cards])


def view_frame(cmd, msg_id, hand, pending=None):
    data = {"game_id": 1, "status": "playing", "version": 1, "you": {"seat": 0, "name": "Ann",
            "hand": [WIRE[c] for c in sorted(hand)]}, "top_card": WIRE[TOP], "market_count": 80, "pile_count": 1,
            "players": [], "current_seat": 0, "awaiting_seat": 0, "pending_pick": None, "question": None,
            "prompt": pending, "vote": None, "recent_events": []}
    return numbered(cmd, msg_id, data)


HAND = parse_cards("red/cross blue/cup green/square yellow/circle red/?")


def begun_state() -> SeatState:
    state = SeatState()
    for message in [view_frame(ServerCmd.GAME_BEGIN, 1, HAND), event(2, event="turn", seat=0),
                    prompt(3, [parse_card("red/cross"), parse_card("blue/cup"), parse_card("red/?")])]:
        state.accept(message)
    return state


def test_a_message_is_one_frame_or_a_batch_in_order():
    frames = [event(2, event="turn", seat=1), event(3, event="drew", seat=1, count=1, reason="draw")]
    assert decode_message(json.dumps(frames[0])) == [frames[0]]
    assert decode_message(json.dumps(frames)) == frames
    with pytest.raises(ValueError):
        decode_message("[1, 2]")


async def test_a_batch_is_applied_frame_by_frame():
    client = SeatClient("ws://127.0.0.1:1", 1, "token")
    seen = []
    client.on_frame = seen.append
    batch = [view_frame(ServerCmd.GAME_BEGIN, 1, HAND), event(2, event="turn", seat=0), prompt(3, [HAND[0]])]
    applied = await client.receive_message(json.dumps(batch))
    assert [m["msg_id"] for m in applied] == [1, 2, 3] and seen == applied
    assert client.state.last_msg_id == 3 and client.state.gaps == 0
    assert client.state.current_prompt["msg_id"] == 3
    assert client.state.hand == sorted(HAND)


def test_a_gap_asks_for_the_status_and_holds_frames_until_the_snapshot():
    state = begun_state()
    assert state.accept(event(5, event="turn", seat=1)) == []  # 4 is missing
    assert state.gaps == 1 and state.outbox == [("GET_GAME_STATUS", {})]
    assert state.current_prompt is None, "no answer while out of sync"
    state.accept(event(6, event="turn", seat=2))  # held too; one request is enough
    assert state.gaps == 1 and len(state.outbox) == 1
    pending = {"msg_id": 5, "payload": prompt(5, [HAND[0]])["payload"]}
    applied = state.accept(view_frame(ServerCmd.GAME_STATUS, 5, HAND[:2], pending))
    # The snapshot holds everything up to 5; the held 6 follows it.
    assert [m["msg_id"] for m in applied] == [5, 6]
    assert state.last_msg_id == 6 and not state.resyncing
    assert state.hand == sorted(HAND[:2]) and state.current_prompt["msg_id"] == 5


def test_frames_already_in_a_snapshot_are_dropped_without_a_gap():
    state = begun_state()
    state.accept(view_frame(ServerCmd.RESUME, 9, HAND))
    assert state.accept(event(8, event="turn", seat=1)) == []
    assert state.accept(event(9, event="turn", seat=1)) == []
    assert [m["msg_id"] for m in state.accept(event(10, event="turn", seat=2))] == [10]
    assert state.gaps == 0 and state.outbox == []


def test_the_hand_follows_draw_notices_and_own_events_only():
    state = begun_state()
    drawn = parse_cards("green/cup#1 yellow/cross")
    red_cross, blue_cup, green_square = parse_cards("red/cross blue/cup green/square")
    for message in [draw_notice(4, drawn), event(5, event="drew", seat=0, count=2, reason="draw"),
                    event(6, event="played", seat=0, cards=[WIRE[red_cross]]),
                    event(7, event="played", seat=1, cards=[WIRE[parse_card("red/cup#3")]]),
                    event(8, event="gave", seat=0, card=WIRE[blue_cup]),
                    event(9, event="discarded", seat=0, cards=[WIRE[green_square]])]:
        state.accept(message)
    assert state.hand == sorted(set(HAND) - {red_cross, blue_cup, green_square} | set(drawn))
    assert state.top_card == WIRE[TOP]


def test_an_answered_prompt_is_not_offered_again_until_a_snapshot_offers_it():
    state = begun_state()
    state.answered = 3
    assert state.current_prompt is None
    state.accept(view_frame(ServerCmd.GAME_STATUS, 3, HAND, {"msg_id": 3, "payload": prompt(3, [HAND[0]])["payload"]}))
    assert state.current_prompt["msg_id"] == 3


async def test_the_client_sends_hello_with_batch_and_resyncs_a_gap_over_its_socket():
    """A scripted peer: a batch, then a gap; the client must send GET_GAME_STATUS, then answer."""
    received = []
    done = asyncio.Event()

    async def peer(ws):
        received.append(json.loads(await ws.recv()))
        await ws.send(json.dumps(frame(ServerCmd.CONNECTED, "hi", data={"room": {}, "player": {"seat": 0}})))
        await ws.send(json.dumps([view_frame(ServerCmd.GAME_BEGIN, 1, HAND), event(2, event="turn", seat=1)]))
        await ws.send(json.dumps(event(4, event="turn", seat=0)))  # 3 never comes
        received.append(json.loads(await ws.recv()))
        pending = {"msg_id": 5, "payload": prompt(5, [HAND[0]])["payload"]}
        await ws.send(json.dumps(view_frame(ServerCmd.GAME_STATUS, 5, HAND, pending)))
        received.append(json.loads(await ws.recv()))
        done.set()
        await ws.wait_closed()

    async with websockets.serve(peer, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with SeatClient(f"ws://127.0.0.1:{port}", 7, "secret") as seat:
            answered = await asyncio.wait_for(seat.next_prompt(), 10)
            await seat.answer({"cards": [], "last_card": False}, answered)
            await asyncio.wait_for(done.wait(), 10)
    hello, status, answer = received
    assert hello["cmd"] == "HELLO" and hello["payload"] == {"token": "secret", "last_msg_id": 0, "batch": True}
    assert status["cmd"] == "GET_GAME_STATUS"
    assert answer["cmd"] == "GAME_MESSAGE" and answer["payload"] == {"reply_to": 5, "data": {"cards": [], "last_card": False}}
    assert seat.state.gaps == 1 and seat.status_requests == 1


async def test_batch_is_only_asked_for_when_wanted():
    client = SeatClient("ws://127.0.0.1:1", 1, "t", batch=False)
    assert "batch" not in client._hello_payload()


async def test_cancelling_the_owner_of_a_closing_seat_client_cancels_it():
    """The owner cancelled while the client winds down must end cancelled, not carry on (a load bot
    that carried on took a new seat and kept `manage.py loadtest` from ever ending)."""
    from tests.conftest import closed_port

    owner_reached_exit = asyncio.Event()

    async def owner():
        seat = SeatClient(f"ws://127.0.0.1:{closed_port()}", 1, "t", backoff=(2.0, 2.0))
        async with seat:
            await asyncio.sleep(0.2)  # the first connection attempt has failed: backing off
            owner_reached_exit.set()
        return "carried on"

    task = asyncio.create_task(owner())
    await asyncio.wait_for(owner_reached_exit.wait(), 5)
    await asyncio.sleep(0.05)  # now in __aexit__, waiting for the backoff sleep to end
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)


@pytest.mark.parametrize("seed", range(30))
def test_the_bot_plays_legally_and_calls_its_last_card(seed):
    rng = random.Random(seed)
    deck = list(range(120))
    rng.shuffle(deck)
    top, hand = deck[0], sorted(deck[1:1 + rng.randint(1, 6)])
    starts = starting_cards(hand, top, None)
    payload = prompt(1, starts)["payload"]
    answer = choose_answer(payload, hand, top, rng)
    assert (answer["cards"] == []) == (starts == [])
    assert check_play(answer["cards"], top, None) is None
    assert set(answer["cards"]) <= set(hand)
    # R13: only a turn that lays cards needs the call; it does when one card is left.
    assert answer["last_card"] == (bool(answer["cards"]) and len(hand) - len(answer["cards"]) == 1)


def test_the_bot_discards_and_names_from_its_hand():
    hand = parse_cards("blue/cup blue/cross blue/square red/cup")
    discard = numbered(ServerCmd.GAME_MESSAGE_REP, 1, {"kind": "discard", "count": 3}, return_type="LIST",
                       flag=Flag.USER_INPUT_CONTINUE)["payload"]
    answer = choose_answer(discard, hand, TOP)
    assert len(set(answer["cards"])) == 3 and set(answer["cards"]) <= set(hand) and answer["last_card"] is True
    name = numbered(ServerCmd.GAME_MESSAGE_REP, 2, {"kind": "name"}, return_type="STR",
                    flag=Flag.USER_INPUT_CONTINUE, extra_data=["red"])["payload"]
    assert choose_answer(name, hand, TOP) == "blue"
