"""Every lobby error code of docs/protocol.md: the bad frame gets its code, and nothing changes."""

import json

import pytest
from channels.db import database_sync_to_async

from rooms import services
from rooms.models import Room
from tests.lobby.helpers import room_payload, snapshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def setup(lobby):
    """Two lobby connections, an open room (Ann + Computer 1, one seat free), a full room and a draft."""
    client, other = await lobby(), await lobby()
    open_room = (await other.request("CREATE_A_ROOM", room_payload(num_of_players=3, computers=1)))["payload"]["data"]["room"]
    full_room = (await other.request("CREATE_A_ROOM", room_payload(num_of_players=2, computers=1)))["payload"]["data"]["room"]
    draft = (await other.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED"))["payload"]["data"]
    return {"client": client, "other": other, "open": open_room["room_id"], "full": full_room["room_id"],
            "draft": draft["draft_id"]}


async def refused_raw(client, text: str) -> dict:
    before = await snapshot()
    await client.send_raw(text)
    error = await client.expect("ERROR")
    assert await snapshot() == before
    return error


async def refused(client, cmd: str, payload: dict | None = None) -> dict:
    before = await snapshot()
    data = await client.error(cmd, payload)
    assert await snapshot() == before
    return data


async def test_too_large(setup, settings):
    settings.MAX_FRAME_BYTES = 1000
    frame = json.dumps({"cmd": "CREATE_A_ROOM", "msg_id": 7, "payload": room_payload(room_name="x" * 1000)})

    error = await refused_raw(setup["client"], frame)

    assert error["payload"]["data"] == {"code": "TOO_LARGE", "field": None}


async def test_too_large_is_checked_on_the_raw_size_before_parsing(setup, settings):
    settings.MAX_FRAME_BYTES = 100

    error = await refused_raw(setup["client"], "{" * 200)

    assert error["payload"]["data"]["code"] == "TOO_LARGE"


@pytest.mark.parametrize("text", ["not json", "{\"cmd\": ", " ", "[" * 100000])
async def test_bad_json(setup, settings, text):
    settings.MAX_FRAME_BYTES = 200000

    error = await refused_raw(setup["client"], text)

    assert error["payload"]["data"]["code"] == "BAD_JSON"
    assert error["reply_to"] is None


@pytest.mark.parametrize("text", ['[1, 2]', '"GET_ROOMS"', '{"payload": {}}', '{"cmd": 5}',
                                  '{"cmd": "JOIN_ROOM", "msg_id": 3, "payload": [1]}', "null"])
async def test_bad_message(setup, text):
    error = await refused_raw(setup["client"], text)

    assert error["payload"]["data"]["code"] == "BAD_MESSAGE"


async def test_binary_frame_is_a_bad_message(setup):
    before = await snapshot()
    await setup["client"].communicator.send_to(bytes_data=b'{"cmd": "GET_ROOMS"}')

    assert (await setup["client"].expect("ERROR"))["payload"]["data"]["code"] == "BAD_MESSAGE"
    assert await snapshot() == before


@pytest.mark.parametrize("cmd", ["DANCE", "HELLO", "GAME_MESSAGE", "get_rooms"])
async def test_unknown_cmd_replies_to_its_msg_id(setup, cmd):
    data = await refused(setup["client"], cmd, {})

    assert data == {"code": "UNKNOWN_CMD", "field": "cmd"}


async def test_rate_limited(setup, settings):
    settings.RATE_LIMIT = 2
    client = await setup["other"].__class__().connect()  # a fresh connection gets the new limit
    try:
        before = await snapshot()
        codes = []
        for k in range(12):
            msg_id = await client.send("JOIN_ROOM", {"room_id": setup["open"], "user_name": f"Spam{k}"})
            answer = await client.expect("ERROR" if k else "JOIN_ROOM_REP")  # the first gets through
            assert answer["reply_to"] == msg_id
            codes.append(answer["payload"]["data"]["code"] if k else "ok")
        assert "RATE_LIMITED" in codes
        after = await snapshot()
        # Only the one join that was let through changed anything.
        assert len(after["Player"]) == len(before["Player"]) + 1
    finally:
        await client.close()


@pytest.mark.parametrize("payload, field", [
    ({"num_of_players": 3, "user_name": "Bob"}, "room_name"),
    (room_payload(room_name="   "), "room_name"),
    (room_payload(room_name="x" * 41), "room_name"),
    (room_payload(room_name="bad\x07name"), "room_name"),
    (room_payload(num_of_players=1), "num_of_players"),
    (room_payload(num_of_players=9), "num_of_players"),
    (room_payload(num_of_players="3"), "num_of_players"),
    (room_payload(num_of_players=True), "num_of_players"),
    (room_payload(user_name=""), "user_name"),
    (room_payload(user_name="y" * 25), "user_name"),
    (room_payload(user_name=["Bob"]), "user_name"),
    (room_payload(computers=3), "computers"),
    (room_payload(computers=-1), "computers"),
    (room_payload(draft_id="1"), "draft_id"),
    (room_payload(draft_id=0), "draft_id"),
])
async def test_create_a_room_invalid(setup, payload, field):
    assert await refused(setup["client"], "CREATE_A_ROOM", payload) == {"code": "INVALID", "field": field}


async def test_create_a_room_with_another_connections_draft_is_invalid(setup):
    data = await refused(setup["client"], "CREATE_A_ROOM", room_payload(user_name="Zed", draft_id=setup["draft"]))

    assert data == {"code": "INVALID", "field": "draft_id"}


async def test_create_a_room_with_an_unknown_draft_is_invalid(setup):
    data = await refused(setup["client"], "CREATE_A_ROOM", room_payload(user_name="Zed", draft_id=10**9))

    assert data == {"code": "INVALID", "field": "draft_id"}


@pytest.mark.parametrize("payload, field", [
    ({}, "room_id"), ({"room_id": "1", "user_name": "Bob"}, "room_id"), ({"room_id": -2, "user_name": "Bob"}, "room_id"),
    ({"room_id": 1}, "user_name"), ({"room_id": 1, "user_name": " \t "}, "user_name"),
    ({"room_id": 1, "user_name": "a\u200bb"}, "user_name"),
])
async def test_join_room_invalid(setup, payload, field):
    assert await refused(setup["client"], "JOIN_ROOM", payload) == {"code": "INVALID", "field": field}


@pytest.mark.parametrize("cmd", ["CANCEL_ROOM_DRAFT", "WAIT_FOR_DRAFT"])
@pytest.mark.parametrize("draft_id", [None, "x", 0, 10**9])
async def test_draft_commands_invalid(setup, cmd, draft_id):
    payload = {} if draft_id is None else {"draft_id": draft_id}

    assert await refused(setup["client"], cmd, payload) == {"code": "INVALID", "field": "draft_id"}


async def test_cancel_another_connections_draft_is_invalid(setup):
    data = await refused(setup["client"], "CANCEL_ROOM_DRAFT", {"draft_id": setup["draft"]})

    assert data == {"code": "INVALID", "field": "draft_id"}


async def test_room_not_found_for_an_unknown_room(setup):
    data = await refused(setup["client"], "JOIN_ROOM", {"room_id": 10**9, "user_name": "Bob"})

    assert data == {"code": "ROOM_NOT_FOUND", "field": "room_id"}


async def test_room_not_found_for_a_closed_room(setup):
    await database_sync_to_async(services.room_close)(room_id=setup["open"])

    data = await refused(setup["client"], "JOIN_ROOM", {"room_id": setup["open"], "user_name": "Bob"})

    assert data == {"code": "ROOM_NOT_FOUND", "field": "room_id"}


async def test_room_full_for_a_full_room(setup):
    data = await refused(setup["client"], "JOIN_ROOM", {"room_id": setup["full"], "user_name": "Bob"})

    assert data == {"code": "ROOM_FULL", "field": "room_id"}


@pytest.mark.parametrize("status", ["playing", "paused", "finished"])
async def test_room_full_for_a_room_that_is_not_open(setup, status):
    await database_sync_to_async(Room.objects.filter(pk=setup["open"]).update)(status=status)

    data = await refused(setup["client"], "JOIN_ROOM", {"room_id": setup["open"], "user_name": "Bob"})

    assert data == {"code": "ROOM_FULL", "field": "room_id"}


@pytest.mark.parametrize("name", ["ann", "ANN", "  Ann ", "computer 1", "COMPUTER 1"])
async def test_name_taken_case_insensitively_computers_included(setup, name):
    data = await refused(setup["client"], "JOIN_ROOM", {"room_id": setup["open"], "user_name": name})

    assert data == {"code": "NAME_TAKEN", "field": "user_name"}


async def test_name_taken_when_the_creator_takes_a_computers_name(setup):
    data = await refused(setup["client"], "CREATE_A_ROOM", room_payload(user_name="computer 2", computers=2))

    assert data == {"code": "NAME_TAKEN", "field": "user_name"}


async def test_the_connection_lives_on_after_errors(setup):
    client = setup["client"]
    for text in ("nope", "[]", '{"cmd": "X"}'):
        await client.send_raw(text)
        await client.expect("ERROR")

    answer = await client.request("JOIN_ROOM", {"room_id": setup["open"], "user_name": "Bob"})

    assert answer["payload"]["data"]["player"]["seat"] == 2
