"""Text as hostile clients type it (docs/protocol.md "Limits"): NFKC everywhere, names that
collide by look, and invalid Unicode refused with an error, never an exception."""

import json
import logging

import pytest
from channels.db import database_sync_to_async

from lobby_site.names import name_key
from lobby_site.wire import ErrorCode, ProtocolError, clean_chat, clean_hello, clean_name, parse_frame, ClientCmd
from rooms.clock import stop_clock
from rooms.models import Player
from tests.game.conftest import settle
from tests.lobby.helpers import LobbyClient

LONE = "\ud800"  # what JSON's "\ud800" escape decodes to


@pytest.mark.parametrize("typed, same_as", [
    ("Сarol", "carol"),  # Cyrillic С
    ("ｃａｒｏｌ", "carol"),  # fullwidth
    ("CAROL", "carol"),
    ("c\u0301arol", "\u0107arol"),  # combining acute = precomposed ć
    ("Computer l", "Computer 1"),  # l and 1 look alike
    ("Ρaul", "Paul"),  # Greek capital rho
])
def test_look_alike_names_share_a_key(typed, same_as):
    assert name_key(typed) == name_key(same_as)


@pytest.mark.parametrize("one, other", [("José", "Jose"), ("ćarol", "carol"), ("Anna", "Anne"), ("Computer 1", "Computer 2")])
def test_different_names_keep_different_keys(one, other):
    assert name_key(one) != name_key(other)


def test_names_are_stored_in_nfkc():
    assert clean_name("c\u0301arol", "user_name", 24) == "\u0107arol"
    assert clean_name("  ｃａｒｏｌ ", "user_name", 24) == "carol"


@pytest.mark.parametrize("text", [LONE, "ab" + LONE, "\udfff", "\u200b", "a\u202eb"])
def test_invalid_unicode_and_format_characters_in_names_are_invalid(text):
    with pytest.raises(ProtocolError) as refused:
        clean_name(text, "user_name", 24)
    assert refused.value.code == ErrorCode.INVALID and refused.value.field == "user_name"


def test_invalid_unicode_in_chat_is_invalid_and_chat_is_nfkc():
    with pytest.raises(ProtocolError) as refused:
        clean_chat({"text": "hi " + LONE})
    assert refused.value.code == ErrorCode.INVALID
    assert clean_chat({"text": "ｇｇ"}) == "gg"


@pytest.mark.parametrize("payload", [{"token": LONE}, {"token": "abc" + LONE}, {"token": "tökén"},
                                     {"resume_code": "1." + LONE}, {"resume_code": LONE + ".abc"}])
def test_invalid_tokens_and_resume_codes_are_unauthorized(payload):
    with pytest.raises(ProtocolError) as refused:
        clean_hello(payload, 1)
    assert refused.value.code == ErrorCode.UNAUTHORIZED


@pytest.mark.parametrize("raw, field", [
    ('{"cmd": "GET_ROOMS", "payload": {"x": "\\ud800"}}', "x"),
    ('{"cmd": "GET_ROOMS", "payload": {"\\udc00": 1}}', "payload"),
    ('{"cmd": "GET_ROOMS", "payload": {"a": [{"b": ["\\udfff"]}]}}', "a"),
    ('{"cmd": "GET_ROOMS", "extra": "\\ud800"}', None),
    ('{"cmd": "GET_ROOMS", "payload": {"x": "' + LONE + '"}}', "x"),  # a raw surrogate (in-process senders)
])
def test_a_lone_surrogate_anywhere_in_a_frame_is_invalid(raw, field):
    with pytest.raises(ProtocolError) as refused:
        parse_frame(raw, frozenset({ClientCmd.GET_ROOMS}), 16384)
    assert refused.value.code == ErrorCode.INVALID and refused.value.field == field


def test_a_surrogate_pair_is_a_valid_character():
    frame = parse_frame('{"cmd": "GET_ROOMS", "payload": {"x": "\\ud83c\\udccf"}}', frozenset({ClientCmd.GET_ROOMS}),
                        16384)
    assert frame.payload == {"x": "🃏"}


# --- Through the consumers ------------------------------------------------------------------


async def test_look_alikes_cannot_join_a_room_that_has_carol(channel_layers, transactional_db):
    client = await LobbyClient().connect()
    try:
        created = await client.request("CREATE_A_ROOM", {"room_name": "Table", "num_of_players": 8,
                                                         "user_name": "carol", "computers": 1})
        room_id = created["payload"]["data"]["room"]["room_id"]
        for name in ("Сarol", "ｃａｒｏｌ", "CAROL", "Computer l"):
            error = await client.error("JOIN_ROOM", {"room_id": room_id, "user_name": name})
            assert error == {"code": "NAME_TAKEN", "field": "user_name"}, name
        for name in ("c\u0301arol", "José"):
            joined = await client.request("JOIN_ROOM", {"room_id": room_id, "user_name": name})
            assert joined["payload"]["data"]["player"]["name"] == ("\u0107arol" if name.startswith("c") else name)
        # The precomposed form is now the same name as the combining one that joined.
        assert (await client.error("JOIN_ROOM", {"room_id": room_id, "user_name": "\u0107arol"}))["code"] == "NAME_TAKEN"
        assert (await client.error("JOIN_ROOM", {"room_id": room_id, "user_name": "Jose\u0301"}))["code"] == "NAME_TAKEN"
        keys = await database_sync_to_async(lambda: sorted(Player.objects.values_list("name_key", flat=True)))()
        assert keys == sorted([name_key("carol"), name_key("Computer 1"), name_key("ćarol"), name_key("José")])
    finally:
        await client.close()
        await stop_clock()


async def test_a_lone_surrogate_in_lobby_fields_is_invalid_not_a_crash(channel_layers, transactional_db, caplog):
    client = await LobbyClient().connect()
    try:
        with caplog.at_level(logging.ERROR):
            for payload in ({"room_name": "T" + LONE, "num_of_players": 2, "user_name": "Ann"},
                            {"room_name": "T", "num_of_players": 2, "user_name": LONE}):
                error = await client.error("CREATE_A_ROOM", payload)
                assert error["code"] == "INVALID"
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    finally:
        await client.close()
        await stop_clock()


@pytest.mark.parametrize("hello", [{"token": LONE}, {"resume_code": "1." + LONE}, {"token": "ok", "x": LONE}])
async def test_a_lone_surrogate_in_hello_is_unauthorized_with_4401(make_room, connect, hello, caplog):
    room_id, _ = await make_room(2)
    seat = await connect(room_id, "unused")
    with caplog.at_level(logging.ERROR):
        await seat.send_raw(json.dumps({"cmd": "HELLO", "payload": hello}))  # json escapes the surrogate
        assert await seat.receive_close() == 4401
    error = seat.frames[-1]
    assert error["cmd"] == "ERROR" and error["payload"]["data"]["code"] == "UNAUTHORIZED"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_lone_surrogate_in_chat_is_invalid(make_room, connect, caplog):
    room_id, tokens = await make_room(2)
    seats = [await connect(room_id, token) for token in tokens]
    for seat in seats:
        await seat.hello()
    await settle(seats)
    with caplog.at_level(logging.ERROR):
        refused = await seats[0].request("CHAT", {"text": "hello " + LONE}, expect="ERROR")
    assert refused["payload"]["data"] == {"code": "INVALID", "field": "text"}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
