"""`manage.py play` in tmux against a real daphne (issue 12): what a person at an 80×24
terminal sees and types, checked against the server's own state."""

import json
import re

import pytest

from tests.servers import Daphne, free_port, server_env
from tests.terminal.conftest import SERVER_SETTINGS, game_of, read_database
from tests.terminal.tmux import Terminal, hand_section, label, play_to_the_end, shown_msg_id

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240)]


def room_id_on(screen: str) -> int:
    return int(re.search(r"\(room (\d+)\)", screen).group(1))


def create_room(terminal, name: str, seats: int, computers: int, level: str = "") -> None:
    """Create a room from the lobby: c, then the questions (the computers' level when there are some)."""
    terminal.wait_for(r"lobby>")
    terminal.type("c")
    terminal.wait_for(r"Room name \[")
    terminal.type(name)
    terminal.wait_for(r"Seats, 2 to 8")
    terminal.type(str(seats))
    terminal.wait_for(r"Computers, 0 to")
    terminal.type(str(computers))
    if computers:
        terminal.wait_for(r"Computers' level: easy, normal or hard")
        terminal.type(level)


def join_room_listed(terminal, room_name: str) -> None:
    """Join a room by the number the lobby shows before its name."""
    screen = terminal.wait_for(rf"\d+\s+{re.escape(room_name)}")
    number = re.search(rf"^\s*(\d+)\s+{re.escape(room_name)}", screen, re.M).group(1)
    terminal.type(number)


def ranking_on(screen: str) -> list[tuple[str, int]]:
    return [(name, int(left)) for name, left in re.findall(r"^\s+\d+\. (.+?)(?: \(you\))?\s+(\d+) cards? left",
                                                            screen, re.M)]


def test_one_person_plays_three_computers_to_the_result(terminals, database_url):
    ada = terminals("Ada")
    create_room(ada, "Solo", 4, 3, level="easy")
    screen = ada.wait_for(r"Your hand \(5\)")
    assert "Ada (you)" in screen and "Computer 3 (easy)" in screen
    assert all(len(line) <= 80 for line in screen.splitlines())
    assert len(screen.rstrip("\n").splitlines()) <= 24
    assert "\x1b" not in screen  # --no-color: plain text
    room_id = room_id_on(screen)

    # A bad line is explained and sends nothing.
    ada.wait_for(r"play>")  # computers play at once: the first turn after theirs is Ada's
    before = game_of(database_url, room_id)["state"]
    ada.type("99")
    assert "There is no card 99" in ada.wait_for("There is no card 99")
    assert game_of(database_url, room_id)["state"] == before

    result = play_to_the_end([ada])["ada"]
    game = game_of(database_url, room_id)
    assert game["status"] == "finished"
    assert [seat["level"] for seat in game["seats"]] == [None, "easy", "easy", "easy"]
    outcome = game["state"]["outcome"]
    ranking = ranking_on(result)
    assert len(ranking) == 4
    assert [left for _, left in ranking] == [row["cards_left"] for row in outcome["ranking"]]
    winner = ranking[0][0]
    assert (f"Game over: {winner} wins." in result) or (winner == "Ada" and "you win!" in result)
    assert label(result) == "over>"
    ada.type("")
    ada.wait_for(r"lobby>")


def test_two_terminals_play_each_other(terminals, database_url):
    ada, bob = terminals("Ada"), terminals("Bob")
    create_room(ada, "Duel", 2, 0)
    waiting = ada.wait_for(r"Waiting for 1 more player")
    assert "seat 0  Ada (you)" in waiting and "(a free seat)" in waiting
    room_id = room_id_on(waiting)

    join_room_listed(bob, "Duel")
    for terminal, other in ((ada, "Bob"), (bob, "Ada")):
        screen = terminal.wait_for(r"Your hand \(8\)")
        assert other in screen

    results = play_to_the_end([ada, bob])
    game = game_of(database_url, room_id)
    assert game["status"] == "finished"
    winner_seat = game["state"]["outcome"]["winner"]
    winner = ["Ada", "Bob"][winner_seat]
    for session, screen in results.items():
        if session == winner.lower():
            assert "Game over: you win!" in screen
        else:
            assert f"Game over: {winner} wins." in screen
        assert [name for name, _ in ranking_on(screen)][0] == winner


def test_leaving_saves_the_game_and_the_code_takes_the_seat_back(terminals, database_url):
    """Scenario B: Ada leaves (paused, saved to a file, LEAVE); Bob votes for a computer; Ada comes back."""
    ada, bob = terminals("Ada"), terminals("Bob")
    create_room(ada, "Leaving", 3, 1)
    room_id = room_id_on(ada.wait_for(r"Waiting for 1 more player"))
    join_room_listed(bob, "Leaving")
    ada.wait_for(r"Your hand \(6\)")
    bob.wait_for(r"Your hand \(6\)")

    ada.type("/leave")
    ada.wait_for(r"leave\? y/n>")
    ada.type("y")
    lobby = ada.wait_for(r"Come back with: load \S+")
    code = re.search(r"load (\d+\.\S+)", lobby).group(1)
    files = list(ada.save_dir.glob("discard-room*.json"))
    assert len(files) == 1
    saved = json.loads(files[0].read_text())
    assert saved["format"] == "discard-saved-game" and saved["resume_code"] == code
    assert saved["state"]["status"] == "paused" and saved["state"]["you"]["name"] == "Ada"
    assert files[0].stat().st_mode & 0o077 == 0  # it holds the seat's token

    vote = bob.wait_for(r"vote>")
    assert "Ada left. Replace them with a computer, or leave too?" in vote
    assert read_database(database_url, "SELECT status FROM rooms_room WHERE id = ?", (room_id,)) == [("paused",)]
    bob.type("c")
    bob.wait_for(r"A computer takes Ada's seat\.")
    bob.wait_for(r"Computer \d+ \(cpu\)")
    assert game_of(database_url, room_id)["status"] == "playing"
    computer_hand = len(game_of(database_url, room_id)["state"]["hands"][0])

    ada.type(f"load {files[0]}")
    back = ada.wait_for(r"Your hand \(\d+\)")
    assert "Ada (you)" in back
    assert bob.wait_for(r"Ada came back and took their seat back\.")
    assert read_database(database_url, "SELECT name, is_computer FROM rooms_player WHERE room_id = ? AND seat = 0",
                         (room_id,)) == [("Ada", 0)]
    held = int(re.search(r"Your hand \((\d+)\)", back).group(1))
    assert held == len(game_of(database_url, room_id)["state"]["hands"][0])
    assert computer_hand > 0


def test_the_terminal_reconnects_by_itself_and_resumes(database_url, server_files, tmp_path):
    """The server goes away mid-game and comes back on the same port: the seat's RESUME puts the
    same hand and the same prompt back on the screen, with nothing typed."""
    port = free_port()
    env = server_env(database_url, **SERVER_SETTINGS)
    first = Daphne(env, port=port, log_path=server_files / "daphne-restart.log").start()
    ada = Terminal(first.http_url, "Ada", tmp_path)
    try:
        create_room(ada, "Again", 2, 1)
        before = ada.wait_for(r"play>")
        first.stop()
        ada.wait_for(r"· reconnecting")
        with Daphne(env, port=port, log_path=server_files / "daphne-restart.log"):
            after = ada.wait_for(r"· connected\n(.*\n)*play>")
        assert hand_section(after) == hand_section(before)
        assert shown_msg_id(after) == shown_msg_id(before)
    finally:
        ada.close()
        first.stop()
