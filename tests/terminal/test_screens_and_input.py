"""The terminal's pure parts: typed lines to answers (or explanations), frames to screens."""

import json
import subprocess
import sys

import pytest

from game.engine import WIRE
from lobby_site.client import SeatState
from lobby_site.terminal import (PLAIN, Answer, CreateForm, JoinRoom, Local, LoadGame, Palette, Problem, Send,
                                 StartCreating, TableModel, UiState, WaitForDraft, parse_lobby_line, parse_load,
                                 parse_table_line, render_lobby, render_result, render_table, render_waiting_room,
                                 saved_game, ws_base_url)
from lobby_site.wire import ClientCmd
from tests.servers import ROOT

CARDS = {card["id"]: card for card in WIRE}
RED_CROSS, RED_SQUARE, BLUE_CUP, GREEN_PICK_ONE = 0, 5, 49, 110


def turn_prompt(starts, pending_pick=None):
    return {"prompt": "Your turn: play on red cup, or draw a card.", "data": {"kind": "turn", "pending_pick": pending_pick},
            "extra_data": starts}


HAND = [RED_CROSS, RED_SQUARE, BLUE_CUP, GREEN_PICK_ONE]


@pytest.mark.parametrize(("url", "ws"), [
    ("http://127.0.0.1:8000", "ws://127.0.0.1:8000"),
    ("https://discard.example/", "wss://discard.example"),
    ("http://host:80/sub/", "ws://host:80/sub"),
    ("ws://h:1", "ws://h:1"),
])
def test_site_urls_map_to_websocket_urls(url, ws):
    assert ws_base_url(url) == ws


@pytest.mark.parametrize("url", ["ftp://h", "127.0.0.1:8000", "http://"])
def test_other_urls_are_refused(url):
    with pytest.raises(ValueError):
        ws_base_url(url)


def test_numbers_play_cards_in_laying_order_and_bang_calls_last_card():
    prompt = turn_prompt([RED_CROSS, RED_SQUARE])
    assert parse_table_line("2 1", prompt=prompt, hand=HAND) == Answer({"cards": [RED_SQUARE, RED_CROSS],
                                                                         "last_card": False})
    assert parse_table_line("1!", prompt=prompt, hand=HAND) == Answer({"cards": [RED_CROSS], "last_card": True})
    assert parse_table_line("1", prompt=prompt, hand=HAND, call_last_card=True).data["last_card"] is True
    assert parse_table_line("d", prompt=prompt, hand=HAND) == Answer({"cards": [], "last_card": False})
    assert parse_table_line("!", prompt=prompt, hand=HAND) == Local("call")


@pytest.mark.parametrize(("line", "explained"), [
    ("5", "There is no card 5: your hand has 4 cards."),
    ("1 1", "Card 1 is named twice."),
    ("3", "Card 3 cannot start a play now"),
    ("x", '"x" is not a card number'),
    ("", "Type an answer"),
])
def test_bad_turn_lines_are_explained_not_sent(line, explained):
    problem = parse_table_line(line, prompt=turn_prompt([RED_CROSS]), hand=HAND)
    assert isinstance(problem, Problem) and explained in problem.text


def test_out_of_turn_paused_and_voting_lines():
    assert "not your turn" in parse_table_line("1", prompt=None, hand=HAND).text
    assert "paused" in parse_table_line("1", prompt=turn_prompt([RED_CROSS]), hand=HAND, paused=True).text
    assert parse_table_line("c", prompt=None, hand=HAND, paused=True, can_vote=True) == Send(ClientCmd.ADD_COMPUTER)
    assert parse_table_line("/leave", prompt=None, hand=HAND, can_vote=True) == Local("leave")
    assert parse_table_line("y", prompt=None, hand=HAND, confirming_leave=True) == Send(ClientCmd.LEAVE_REQUEST)
    assert parse_table_line("n", prompt=None, hand=HAND, confirming_leave=True) == Local("cancel")


def test_commands_work_at_any_prompt():
    assert parse_table_line("/say hello there", prompt=None, hand=HAND) == Send(ClientCmd.CHAT, {"text": "hello there"})
    assert isinstance(parse_table_line("/say " + "x" * 201, prompt=None, hand=HAND), Problem)
    assert parse_table_line("/rematch", prompt=None, hand=HAND) == Local("rematch")
    assert "Unknown command /dance" in parse_table_line("/dance", prompt=None, hand=HAND).text


def test_name_give_and_discard_prompts():
    name = {"prompt": "Name…", "data": {"kind": "name"}, "extra_data": ["red", "blue", "green", "yellow", "cross",
                                                                       "square", "triangle", "circle", "cup"]}
    assert parse_table_line("cup", prompt=name, hand=HAND) == Answer("cup")
    assert parse_table_line("gr", prompt=name, hand=HAND) == Answer("green")
    assert "ambiguous" in parse_table_line("c", prompt=name, hand=HAND).text
    give = {"prompt": "…", "data": {"kind": "give", "question": {"seat": 1, "colour": "red"}},
            "extra_data": [RED_CROSS, RED_SQUARE]}
    assert parse_table_line("2", prompt=give, hand=HAND) == Answer({"cards": [RED_SQUARE]})
    assert "does not answer the question" in parse_table_line("3", prompt=give, hand=HAND).text
    assert "exactly one" in parse_table_line("1 2", prompt=give, hand=HAND).text
    discard = {"prompt": "…", "data": {"kind": "discard", "count": 2}, "extra_data": None}
    assert parse_table_line("4 3 !", prompt=discard, hand=HAND) == Answer({"cards": [GREEN_PICK_ONE, BLUE_CUP],
                                                                            "last_card": True})
    assert "exactly 2 cards" in parse_table_line("1", prompt=discard, hand=HAND).text


def test_lobby_lines():
    rooms = [{"room_id": 7}, {"room_id": 9}]
    drafts = [{"draft_id": 3, "since": "…"}]
    assert parse_lobby_line("2", rooms=rooms, drafts=drafts) == JoinRoom(9)
    assert "There is no room 3" in parse_lobby_line("3", rooms=rooms, drafts=drafts).text
    assert parse_lobby_line("c", rooms=rooms, drafts=drafts) == StartCreating()
    assert parse_lobby_line("w", rooms=rooms, drafts=drafts) == WaitForDraft(3)
    assert isinstance(parse_lobby_line("w", rooms=rooms, drafts=[]), Problem)
    assert parse_lobby_line("load 12.AbC-_d", rooms=[], drafts=[]) == LoadGame(12, "AbC-_d")
    assert isinstance(parse_lobby_line("load nonsense", rooms=[], drafts=[]), Problem)


def test_a_saved_game_file_loads_by_its_code(tmp_path):
    path = tmp_path / "saved.json"
    path.write_text(json.dumps(saved_game(12, "tok_en", {"status": "paused"})))
    assert parse_load(str(path), read_file=lambda p: open(p).read()) == LoadGame(12, "tok_en")
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    assert "not a Discard saved game" in parse_load(str(tmp_path / "other.json"), read_file=lambda p: open(p).read()).text


def test_the_create_form_asks_its_questions_with_defaults():
    form = CreateForm("Ada")
    assert form.take("") is None and form.room_name == "Ada's room"
    assert isinstance(form.take("9"), Problem) and form.step == "seats"
    assert form.take("3") is None
    assert isinstance(form.take("3"), Problem)  # at most seats − 1 computers
    assert form.take("2") is None and form.step == "level"  # with computers: their level
    assert isinstance(form.take("expert"), Problem)
    assert form.take("h") is True and (form.seats, form.computers, form.level) == (3, 2, "hard")
    alone = CreateForm("Bo")
    assert alone.take("") is None and alone.take("2") is None
    assert alone.take("0") is True and alone.level == "normal"  # no computers: no level asked
    assert CreateForm("Bo").take("/cancel") is False


def view_of(hand, prompt=None, status="playing", vote=None):
    players = [{"seat": 0, "name": "Ada", "cards_left": len(hand), "is_computer": False, "connected": True},
               {"seat": 1, "name": "Computer 1", "cards_left": 5, "is_computer": True, "connected": True}]
    return {"game_id": 1, "status": status, "version": 3, "you": {"seat": 0, "name": "Ada",
                                                                   "hand": [CARDS[c] for c in hand]},
            "top_card": CARDS[RED_CROSS], "market_count": 80, "pile_count": 4, "players": players, "current_seat": 0,
            "awaiting_seat": 0, "pending_pick": None, "question": None, "prompt": prompt, "vote": vote,
            "recent_events": [{"event": "played", "seat": 1, "cards": [CARDS[RED_CROSS]]}], "turn_count": 3,
            "outcome": None}


def frame(cmd, data, msg_id, prompt="…", **payload):
    return {"cmd": cmd, "msg_id": msg_id, "reply_to": None,
            "payload": {"prompt": prompt, "data": data, "next_cmd": None, "return_type": None, "flag": None,
                        "extra_data": None, "top_card": None, **payload}}


def seated(frames):
    table, state = TableModel(room_name="Tea", room_id=4), SeatState()
    for f in frames:
        for applied in state.accept(f):
            table.accept(applied)
    return table, state


def test_the_table_shows_the_hand_numbered_the_top_card_and_the_prompt():
    hand = [RED_SQUARE, BLUE_CUP, GREEN_PICK_ONE]
    prompt = {"msg_id": 9, "payload": turn_prompt([RED_SQUARE])}
    table, state = seated([frame("RESUME", view_of(hand, prompt), 9)])
    lines = render_table(table, state, UiState(connection="connected"), cards=CARDS)
    screen = "\n".join(lines)
    assert len(lines) <= 23 and all(len(line) <= 80 for line in lines)
    assert "Discard · Tea (room 4)" in lines[0] and "msg 9" in lines[0]
    assert ">Ada (you)" in screen and "Computer 1 (cpu)" in screen
    assert "Top card: red cross   Market 80   Pile 4" in screen
    assert " 1*red square" in screen and " 2 blue cup" in screen and " 3 green pick one" in screen
    assert "Computer 1 played red cross." in screen  # the snapshot's recent events
    assert "Your turn: play on red cup, or draw a card." in screen


def test_events_move_counts_and_log_in_the_servers_words():
    table, state = seated([frame("RESUME", view_of([RED_SQUARE]), 9),
                           frame("GAME_EVENT", {"event": "drew", "seat": 1, "count": 2, "reason": "draw"}, 10,
                                 prompt="Computer 1 drew 2 cards from the market."),
                           frame("GAME_EVENT", {"event": "chat", "seat": 1, "name": "Computer 1", "text": "hi"}, 11,
                                 prompt="Computer 1: hi")])
    assert table.player(1)["cards_left"] == 7 and table.market_count == 78
    screen = "\n".join(render_table(table, state, UiState(), cards=CARDS))
    assert "Computer 1 drew 2 cards from the market." in screen and "Computer 1: hi" in screen
    assert "Waiting for Ada" in screen  # no prompt: whose turn it is


def test_the_paused_table_offers_the_vote_with_the_leavers_name():
    table, state = seated([frame("RESUME", view_of([RED_SQUARE]), 9),
                           frame("GAME_EVENT", {"event": "paused", "seat": 1}, 10),
                           frame("GAME_STATUS", view_of([RED_SQUARE], status="paused",
                                                        vote={"seats": [1], "waiting_for": [0], "leaving": []}), 10)])
    table.human_names[1] = "Bob"
    screen = "\n".join(render_table(table, state, UiState(), cards=CARDS, can_vote=True))
    assert "Bob left. Replace them with a computer, or leave too?" in screen
    assert "Type c to let a computer take the seat" in screen


def test_colours_are_ansi_and_the_plain_fallback_has_none():
    table, state = seated([frame("RESUME", view_of([RED_SQUARE, BLUE_CUP]), 9)])
    coloured = "\n".join(render_table(table, state, UiState(), cards=CARDS, palette=Palette(enabled=True)))
    plain = "\n".join(render_table(table, state, UiState(), cards=CARDS, palette=PLAIN))
    assert "\x1b[31mred square\x1b[0m" in coloured and "\x1b[34mblue cup\x1b[0m" in coloured
    assert "\x1b" not in plain


def test_lobby_waiting_room_and_result_screens():
    listing = {"rooms": [{"room_id": 3, "name": "Tea", "num_of_players": 4, "seated": 2, "needed": 2,
                          "status": "waiting", "players": ["Ada", "Computer 1"]}], "drafts": [{"draft_id": 1}]}
    lobby = "\n".join(render_lobby(user_name="Bo", url="http://h", listing=listing, prompt="1 room is open.",
                                   form=None, waiting_for=None, notice="Saved.\nCome back with: load 3." + "x" * 60))
    assert " 1  Tea" in lobby and "2/4" in lobby and "Ada, Computer 1" in lobby
    assert "A room is being created: w waits for it, or c creates your own." in lobby
    assert "3." + "x" * 60 in lobby.splitlines()  # a resume code is wrapped whole, never cut
    table = TableModel(room_name="Tea", room_id=3, seat=0,
                       roommates={"players": [{"seat": 0, "name": "Ada", "connected": True, "is_computer": False}],
                                  "needed": 1, "prompt": "Waiting for 1 more player."})
    waiting = "\n".join(render_waiting_room(table, UiState(), "Ada"))
    assert "seat 0  Ada (you)" in waiting and "(a free seat)" in waiting and "Waiting for 1 more player." in waiting
    over = {"winner": 1, "ranking": [{"seat": 1, "name": "Bo", "cards_left": 0}, {"seat": 0, "name": "Ada",
                                                                               "cards_left": 3}]}
    result = "\n".join(render_result(table, over, 0))
    assert "Game over: Bo wins." in result and "2. Ada (you)" in result and "3 cards left" in result


def test_manage_py_play_needs_no_environment_and_refuses_a_bad_url():
    env = {"PATH": "/usr/bin:/bin"}
    helped = subprocess.run([sys.executable, "manage.py", "play", "--help"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "--url" in helped.stdout and "--no-color" in helped.stdout
    refused = subprocess.run([sys.executable, "manage.py", "play", "--url", "ftp://host"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "not an http:// or https:// URL" in refused.stderr
