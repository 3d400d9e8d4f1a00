"""Chat (docs/protocol.md "Chat"): a numbered `chat` event in every stream, limited per seat
(every connection of the seat shares one budget), kept in a capped table apart from the log."""

import asyncio
import collections
import json

import pytest
from channels.db import database_sync_to_async

from game.models import ChatLine, Game, GameLog
from tests.game.conftest import begun_game

pytestmark = pytest.mark.django_db(transaction=True)


def chats(seat) -> list[str]:
    return [f["payload"]["data"]["text"] for f in seat.frames
            if f["cmd"] == "GAME_EVENT" and f["payload"]["data"]["event"] == "chat"]


def logged_events(room_id: int) -> list[dict]:
    return [e for row in GameLog.objects.filter(game__room_id=room_id) for e in row.events]


async def test_chat_lines_are_numbered_events_kept_in_a_capped_table_not_the_log(make_room, connect, settings):
    settings.CHAT_RATE, settings.CHAT_KEPT = 0, 3
    room_id, seats = await begun_game(make_room, connect, 2)
    game = await database_sync_to_async(Game.objects.get)(room_id=room_id)

    for k in range(5):
        await seats[0].send("CHAT", {"text": f"line {k}"})
    for seat in seats:
        while len(chats(seat)) < 5:
            await seat.receive()  # numbered: the client checks every msg_id follows the last
        assert chats(seat) == [f"line {k}" for k in range(5)]

    after = await database_sync_to_async(Game.objects.get)(room_id=room_id)
    assert after.event_count == game.event_count + 5  # chat is counted in the public sequence
    lines = await database_sync_to_async(lambda: list(ChatLine.objects.filter(game=after).order_by("seq")))()
    assert [line.text for line in lines] == ["line 2", "line 3", "line 4"]  # the last CHAT_KEPT
    assert [line.seq for line in lines] == list(range(after.event_count - 3, after.event_count))
    assert not [e for e in await database_sync_to_async(logged_events)(room_id) if e["event"] == "chat"]
    status = await seats[1].request("GET_GAME_STATUS", expect="GAME_STATUS")
    assert [e["text"] for e in status["payload"]["data"]["chat"]] == ["line 2", "line 3", "line 4"]
    assert status["payload"]["data"]["recent_events"][-1] == {"event": "chat", "seat": 0, "name": "Ann",
                                                              "text": "line 4"}


async def test_the_chat_budget_belongs_to_the_seat_not_the_socket(make_room, connect, settings):
    settings.CHAT_RATE, settings.CHAT_BURST = 0.001, 3  # three lines, then one every 1000 s
    room_id, seats = await begun_game(make_room, connect, 2)
    extra = [await connect(room_id, seats[0].token) for _ in range(2)]
    for socket in extra:
        await socket.hello()
        await socket.skip_to("RESUME")
    sockets = [seats[0], *extra]

    for round_ in range(2):
        for k, socket in enumerate(sockets):
            await socket.send("CHAT", {"text": f"{round_}.{k}"})
    for socket in [*sockets, seats[1]]:
        await socket.drain(0.5)

    # Three of the six lines, whichever of the three connections handled its frame first.
    assert len(chats(seats[1])) == 3 and set(chats(seats[1])) <= {f"{r}.{k}" for r in range(2) for k in range(3)}
    refusals = [e["payload"]["data"] for s in sockets for e in s.errors]
    assert [(r["code"], r["field"]) for r in refusals] == [("RATE_LIMITED", "text")] * 3


async def test_a_chat_flood_leaves_no_msg_id_gap_for_a_well_behaved_seat(make_room, connect, settings,
                                                                         channel_layers):
    """One connection sends 400 chat lines as fast as its socket takes them, reading nothing, while
    both seats play a whole game: the other seat's stream has no gap (its client asserts every
    msg_id follows the last) and holds exactly the lines the budget let through."""
    settings.CHAT_RATE, settings.CHAT_BURST, settings.CHAT_KEPT = 2, 5, 100000
    settings.MAX_TURNS = 60
    room_id, seats = await begun_game(make_room, connect, 2)
    flooder = await connect(room_id, seats[0].token)
    await flooder.hello()

    async def flood():
        for k in range(400):
            await flooder.send("CHAT", {"text": f"spam {k}"})
            if k % 20 == 0:
                await asyncio.sleep(0.01)

    results = await asyncio.gather(flood(), *(seat.play_until_over() for seat in seats))
    assert results[1] == results[2]
    await seats[1].drain(0.5)

    accepted = await database_sync_to_async(ChatLine.objects.filter(game__room_id=room_id).count)()
    assert 5 <= accepted < 400
    assert len(chats(seats[1])) == accepted
    status = await seats[1].request("GET_GAME_STATUS", expect="GAME_STATUS")
    assert status["msg_id"] == seats[1].last_msg_id  # nothing was lost on the way
    # The flooder's own socket heard why every other line was refused: RATE_LIMITED over the
    # budget (NO_PENDING_PROMPT for the lines its socket handled after the game ended).
    refused = collections.Counter()
    while not await flooder.communicator.receive_nothing(1):
        output = await flooder.communicator.receive_output(5)
        frame = json.loads(output.get("text") or "{}")
        if frame.get("cmd") == "ERROR":
            refused[frame["payload"]["data"]["code"]] += 1
    assert refused.total() == 400 - accepted and refused["RATE_LIMITED"] > 0
