"""Leaving a game in a real browser (issue 5): the confirmation, the download of the saved
game, the paused table and the remaining players' choice, and coming back with the file or
the resume code from the lobby page ("Load a saved game").

Playwright drives Debian's chromium against a real daphne, as in test_game_browser.py.
"""

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_game_browser import (WAIT_MS, keep_screenshot, lobby_request, next_prompt, open_seat,
                                         watch_errors)
from tests.servers import Daphne, server_env, sqlite_database

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

FOREIGN_SEAT = "#players .player[data-seat='0']"  # Ada, the creator, sits in seat 0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # One server for the module: every test plays in a room of its own.
    tmp_path = tmp_path_factory.mktemp("leaving")
    with sqlite_database(tmp_path) as database_url:
        with Daphne(server_env(database_url, GAME_SEED=1742), log_path=tmp_path / "daphne.log") as daphne:
            yield daphne


def start_game(server, browser, *, players: int, computers: int = 0):
    """Seat Ada (seat 0), computers, then Bob; open both tables. Return room id, Ada's token, pages."""
    created = lobby_request(server, "CREATE_A_ROOM", {
        "room_name": "Leaving table", "num_of_players": players, "user_name": "Ada", "computers": computers})
    room_id, ada_token = created["room"]["room_id"], created["player"]["token"]
    bob_token = lobby_request(server, "JOIN_ROOM", {"room_id": room_id, "user_name": "Bob"})["player"]["token"]
    ada, ada_errors = open_seat(browser, server, room_id, ada_token)
    bob, bob_errors = open_seat(browser, server, room_id, bob_token)
    for page in (ada, bob):
        expect(page.locator("#table")).to_be_visible(timeout=WAIT_MS)
    return room_id, ada_token, (ada, ada_errors), (bob, bob_errors)


def leave_and_download(page, tmp_path: Path) -> tuple[dict, Path]:
    """Click Leave, confirm in the page's dialog; return the downloaded saved game and its file."""
    page.locator("#leave").click()
    dialog = page.locator("#leave-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("The game pauses while you leave")
    keep_screenshot(page, "leaving_confirm_dialog")
    with page.expect_download(timeout=WAIT_MS) as download_info:
        dialog.get_by_role("button", name="Leave").click()
    download = download_info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    return json.loads(path.read_text()), path


def fresh_lobby(browser, server):
    """Open the lobby in a new context: a browser that holds no token."""
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    errors = watch_errors(page)
    page.goto(f"{server.http_url}/")
    expect(page.locator("#lobby-prompt")).not_to_contain_text("Connecting", timeout=WAIT_MS)
    return page, errors


def expect_seat_back(page, bob, room_id: int) -> None:
    """Ada's page has the table, her seat and the hand the computer left; Bob heard of it."""
    page.wait_for_url(f"**/rooms/{room_id}/", timeout=WAIT_MS)
    expect(page.locator("#table")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#players .player[data-you='true']")).to_contain_text("Ada (you)")
    expect(bob.locator("#log")).to_contain_text("Ada came back and took their seat back", timeout=WAIT_MS)
    expect(bob.locator(FOREIGN_SEAT)).to_contain_text("Ada", timeout=WAIT_MS)
    expect(bob.locator(FOREIGN_SEAT)).not_to_contain_text("computer")
    held = bob.locator("[data-testid='cards-left-0']").inner_text()
    expect(page.locator("#hand-title")).to_have_text(f"Your hand ({held})")
    assert page.locator("#hand [data-card-id]").count() == int(held.split()[0])


def test_a_leaver_downloads_the_game_a_computer_takes_the_seat_and_the_file_brings_her_back(
        server, browser, tmp_path):
    room_id, ada_token, (ada, ada_errors), (bob, bob_errors) = start_game(server, browser, players=2)
    ada_hand = ada.locator("#hand [data-card-id]").evaluate_all("cards => cards.map(c => Number(c.dataset.cardId))")

    saved, saved_file = leave_and_download(ada, tmp_path)

    assert saved["format"] == "discard-saved-game"
    assert saved["resume_code"] == f"{room_id}.{ada_token}"
    assert saved["state"]["status"] == "paused" and saved["state"]["you"]["name"] == "Ada"
    assert [card["id"] for card in saved["state"]["you"]["hand"]] == ada_hand
    expect(ada.locator("#left")).to_be_visible(timeout=WAIT_MS)
    expect(ada.locator("#left-title")).to_have_text("You left — keep your saved game to come back")
    expect(ada.locator("#resume-code")).to_have_value(saved["resume_code"])
    expect(ada.locator("#download-state")).to_be_visible()
    expect(ada.locator("#table")).to_be_hidden()
    expect(ada.locator("#connection")).to_have_text("You left")
    keep_screenshot(ada, "leaving_left_screen")

    # Bob's table is paused, says why, and asks him to choose.
    expect(bob.locator("#whose-turn")).to_have_text("Paused", timeout=WAIT_MS)
    expect(bob.locator("#pause-banner")).to_contain_text("Ada left.", timeout=WAIT_MS)
    replace = bob.locator("#add-computer")
    expect(replace).to_have_text("Replace Ada with a computer")
    expect(bob.locator("#leave-too")).to_be_visible()
    expect(bob.locator("#vote-waiting")).to_have_text("Still to choose: you.")
    expect(bob.locator("#controls button")).to_have_count(0)  # no answers while paused
    expect(bob.locator("#hand [data-card-id][aria-disabled='false']")).to_have_count(0)
    expect(bob.locator("#log")).to_contain_text("Ada asked to leave: the game is paused.")
    expect(bob.locator("#log")).to_contain_text("Ada left the game.")
    expect(bob.locator(FOREIGN_SEAT)).to_contain_text("left")
    keep_screenshot(bob, "leaving_paused_table")

    replace.click()

    expect(bob.locator("#log")).to_contain_text("A computer took Ada's seat.", timeout=WAIT_MS)
    expect(bob.locator("#log")).to_contain_text("The game goes on")
    expect(bob.locator("#pause-banner")).to_be_hidden()
    expect(bob.locator("#vote")).to_be_hidden()
    assert next_prompt(bob) != "over"  # Bob's prompt comes back
    expect(bob.locator(FOREIGN_SEAT)).to_contain_text(re.compile(r"Computer \d"), timeout=WAIT_MS)

    page, errors = fresh_lobby(browser, server)
    page.locator("#saved-file").set_input_files(saved_file)

    expect_seat_back(page, bob, room_id)
    assert page.evaluate(f"sessionStorage.getItem('discard:token:{room_id}')") == ada_token
    assert ada_errors == [] and bob_errors == [] and errors == []


def test_leaving_too_ends_the_game_and_closes_the_room(server, browser, tmp_path):
    room_id, _token, (ada, ada_errors), (bob, bob_errors) = start_game(server, browser, players=3, computers=1)

    _saved, saved_file = leave_and_download(ada, tmp_path)

    expect(bob.locator("#leave-too")).to_be_visible(timeout=WAIT_MS)
    bob.locator("#leave-too").click()

    for page in (ada, bob):
        expect(page.locator("#left")).to_be_visible(timeout=WAIT_MS)
    expect(bob.locator("#left-text")).to_contain_text("the game has ended and the room is closed")
    expect(bob.locator("#left-resume")).to_be_hidden()  # nothing to come back to

    lobby, lobby_errors = fresh_lobby(browser, server)
    expect(lobby.locator(f"#rooms tr[data-room-id='{room_id}']")).to_have_count(0)
    lobby.locator("#saved-file").set_input_files(saved_file)
    lobby.wait_for_url(f"**/rooms/{room_id}/", timeout=WAIT_MS)
    expect(lobby.locator("#unauthorized")).to_be_visible(timeout=WAIT_MS)
    expect(lobby.locator("#unauthorized")).to_contain_text("This game has ended")
    expect(lobby.locator("#paused-out")).to_be_hidden()
    assert ada_errors == [] and bob_errors == [] and lobby_errors == []


def test_a_resume_code_pasted_while_paused_says_so_and_retry_takes_the_seat_back(server, browser, tmp_path):
    room_id, _token, (ada, ada_errors), (bob, bob_errors) = start_game(server, browser, players=2)
    page, errors = fresh_lobby(browser, server)

    # Bad input gets a clear message, and the page stays.
    page.locator("#load-code").fill("not a code")
    page.get_by_role("button", name="Take my seat back").click()
    expect(page.locator("#load-error")).to_contain_text("That is not a resume code")
    not_json = tmp_path / "notes.json"
    not_json.write_text("hello")
    page.locator("#saved-file").set_input_files(not_json)
    expect(page.locator("#load-error")).to_have_text("That file is not a saved Discard game: it is not JSON.")
    other_json = tmp_path / "other.json"
    other_json.write_text(json.dumps({"resume": {"room_id": room_id}}))
    page.locator("#saved-file").set_input_files(other_json)
    expect(page.locator("#load-error")).to_contain_text("choose the file you downloaded when you left")
    assert page.url == f"{server.http_url}/"

    saved, _file = leave_and_download(ada, tmp_path)
    expect(bob.locator("#add-computer")).to_be_visible(timeout=WAIT_MS)

    page.locator("#load-code").fill(f"  {saved['resume_code']} ")
    page.get_by_role("button", name="Take my seat back").click()

    page.wait_for_url(f"**/rooms/{room_id}/", timeout=WAIT_MS)
    expect(page.locator("#paused-out")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#paused-out")).to_contain_text("The game is paused; try again when it resumes.")
    expect(page.locator("#unauthorized")).to_be_hidden()
    keep_screenshot(page, "leaving_paused_out")

    bob.locator("#add-computer").click()
    expect(bob.locator("#log")).to_contain_text("The game goes on", timeout=WAIT_MS)
    page.locator("#retry").click()

    expect_seat_back(page, bob, room_id)
    assert ada_errors == [] and bob_errors == [] and errors == []
