"""Nothing a client sends may crash a consumer (brief, "Standards"): seeded junk frames.

Hundreds of frames built from a seeded generator — wrong types, missing keys, unknown
commands, answers of every shape to the live prompt — go to a seat of a running game and
to a lobby connection. Neither consumer may reach its catch-all ("… command failed" in the
log), every frame the server sends must pass `check_frame`, the connection must keep
answering, and the game must still hold its 120 cards (R16).
"""

import json
import logging
import random

import pytest
from channels.db import database_sync_to_async

from game.models import Game
from lobby_site.wire import GAME_CMDS, LOBBY_CMDS, ClientCmd
from tests.game.conftest import settle
from tests.game.helpers import CommunicatorClient, conservation
from rooms.clock import stop_clock
from tests.lobby.helpers import LobbyClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

FRAMES = 300
KEYS = ["reply_to", "data", "cards", "last_card", "text", "token", "resume_code", "last_msg_id", "room_id",
        "user_name", "room_name", "num_of_players", "computers", "draft_id"]
ODD_TEXT = ["", " ", "x" * 300, "red", "cup", "\x07bell", "\u202e", "0", "Computer 1", "null"]
ODD_RAW = [" ", "null", "[]", "{", "\"text\"", "1e999", "{}", "[{}]", "{\"cmd\": null}", "{\"payload\": {}}"]


def junk_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, 1, -1, 7, 119, 120, 10 ** 20, rng.randrange(-5, 200)])
    if kind == 3:
        return rng.choice([0.5, -2.0, 1e308])
    if kind == 4:
        return rng.choice(ODD_TEXT)
    if kind == 5:
        return rng.randrange(0, 120)
    if kind == 6:
        return [junk_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 7:
        return [rng.randrange(0, 125) for _ in range(rng.randrange(5))]
    return {rng.choice(KEYS): junk_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def junk_frame(rng: random.Random, cmds: list[str], reply_to: int | None) -> str:
    """Return one raw client frame: usually an object with a command, always somehow wrong or odd."""
    if rng.random() < 0.05:
        return rng.choice(ODD_RAW)
    frame = {}
    if rng.random() < 0.95:
        frame["cmd"] = rng.choice([*cmds, "NOPE", 3, None, "hello"])
    if rng.random() < 0.7:
        frame["msg_id"] = rng.choice([rng.randrange(-5, 1000), "7", None, 1.5, True])
    if rng.random() < 0.9:
        payload = junk_value(rng) if rng.random() < 0.2 else {
            rng.choice(KEYS): junk_value(rng) for _ in range(rng.randrange(5))}
        if frame.get("cmd") == ClientCmd.GAME_MESSAGE and isinstance(payload, dict) and rng.random() < 0.6:
            payload["reply_to"] = reply_to  # aim at the live prompt, so the answer checks run too
        frame["payload"] = payload
    return json.dumps(frame)


def failures(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and "failed" in r.getMessage()]


async def test_junk_frames_never_crash_the_game_consumer(make_room, connect, settings, caplog):
    settings.RATE_LIMIT = 0  # off: this test is about content, not pace
    room_id, tokens = await make_room(2)
    seats = [await connect(room_id, token) for token in tokens]
    for seat in seats:
        await seat.hello()
    await settle(seats)
    # Leaving is a legitimate change of its own (tested elsewhere); everything else is fair game.
    cmds = sorted(str(cmd) for cmd in GAME_CMDS - {ClientCmd.LEAVE_REQUEST})
    rng = random.Random(20261125)

    with caplog.at_level(logging.ERROR):
        for k in range(FRAMES):
            seat = seats[k % 2]
            live = seat.prompt["msg_id"] if seat.prompt else seat.last_msg_id
            await seat.send_raw(junk_frame(rng, cmds, live))
            while True:  # read what came back, checking every frame against the schema
                try:
                    await seat.receive(0.05)
                except TimeoutError:
                    break

    assert failures(caplog) == []
    for seat in seats:
        status = await seat.request("GET_GAME_STATUS", expect="GAME_STATUS")
        assert status["payload"]["data"]["you"]["seat"] == seat.seat
    assert sum(1 for seat in seats for frame in seat.frames if frame["cmd"] == "ERROR") > FRAMES / 2
    game = await database_sync_to_async(Game.objects.get)(room_id=room_id)
    conservation(game.state)


async def test_junk_frames_never_crash_the_lobby_consumer(channel_layers, transactional_db, settings, caplog):
    settings.RATE_LIMIT = 0
    client = await LobbyClient().connect()
    rng = random.Random(1125)
    cmds = sorted(str(cmd) for cmd in LOBBY_CMDS)
    try:
        with caplog.at_level(logging.ERROR):
            for _ in range(FRAMES):
                await client.send_raw(junk_frame(rng, cmds, None))
                # receive_from's timeout would cancel the consumer: receive_nothing does not.
                while not await client.communicator.receive_nothing(0.05, interval=0.005):
                    await client.receive()
        assert failures(caplog) == []
        listing = await client.request("GET_ROOMS", {}, expect="GET_ROOMS_REP")
        assert set(listing["payload"]["data"]) == {"rooms", "open_total", "drafts", "drafts_total"}
    finally:
        await client.close()
        await stop_clock()
