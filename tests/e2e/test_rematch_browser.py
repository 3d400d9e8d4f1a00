"""Rematch and the seat's connection limit in Chromium (docs/protocol.md "Rematch", "Limits per
address"): two people finish a game with a computer, one clicks "Play again", the other sees the
offer and joins, and the new game begins; a seat opened on another device closes the older page
with 4409, which says "opened in another tab" and does not reconnect."""

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.test_game_browser import (ANSWER, WAIT_MS, keep_screens, lobby_request, no_screenshot, open_seat,
                                         watch_errors)
from tests.servers import Daphne, server_env, sqlite_database

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def server(tmp_path):
    # A short game (the turn cap ends it) and one connection per seat, so a second device takes over.
    with sqlite_database(tmp_path) as database_url:
        env = server_env(database_url, GAME_SEED=1742, MAX_TURNS=6, CONNECTIONS_PER_SEAT=1)
        with Daphne(env, log_path=tmp_path / "daphne.log") as daphne:
            yield daphne


def two_people_and_a_computer(server) -> tuple[int, str, str]:
    made = lobby_request(server, "CREATE_A_ROOM", {"room_name": "Friday table", "num_of_players": 3,
                                                   "user_name": "Ann", "computers": 1})
    room_id = made["room"]["room_id"]
    joined = lobby_request(server, "JOIN_ROOM", {"room_id": room_id, "user_name": "Bob"})
    return room_id, made["player"]["token"], joined["player"]["token"]


def play_to_the_end(pages, timeout: float = 240) -> None:
    """Answer whatever each page is asked until every page shows the result."""
    deadline = time.monotonic() + timeout
    while not all(page.locator("#result").is_visible() for page in pages):
        assert time.monotonic() < deadline, "no result in time"
        answered = False
        for page in pages:
            kind = page.locator("#prompt-area").get_attribute("data-kind")
            if kind and not page.locator("#result").is_visible():
                ANSWER[kind](page, no_screenshot)
                answered = True
        if not answered:
            pages[0].wait_for_timeout(200)


def test_two_people_play_again(server, browser):
    room_id, ann_token, bob_token = two_people_and_a_computer(server)
    # A spectator's page follows the table to its rematch (docs/protocol.md "Following a table").
    spectator = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    spectator_errors = watch_errors(spectator)
    spectator.goto(f"{server.http_url}/rooms/{room_id}/watch/")
    expect(spectator.locator("#watch-status")).to_have_attribute("data-state", "waiting", timeout=WAIT_MS)
    ann, ann_errors = open_seat(browser, server, room_id, ann_token)
    bob, bob_errors = open_seat(browser, server, room_id, bob_token)
    for page in (ann, bob):
        expect(page.locator("#table")).to_be_visible(timeout=WAIT_MS)

    play_to_the_end([ann, bob])
    expect(spectator.locator("#watch-status")).to_have_attribute("data-state", "over", timeout=WAIT_MS)
    expect(ann.locator("#play-again")).to_be_enabled()
    expect(bob.locator("#rematch-offer")).to_be_hidden()

    ann.locator("#play-again").click()
    ann.wait_for_url(lambda url: url.rstrip("/") != f"{server.http_url}/rooms/{room_id}", timeout=WAIT_MS)
    new_room = int(ann.url.rstrip("/").rsplit("/", 1)[1])
    assert new_room != room_id
    expect(ann.locator("#room-name")).to_have_text("Friday table – rematch")
    expect(ann.locator("#waiting")).to_contain_text("Waiting for 1 more player", timeout=WAIT_MS)
    keep_screens(ann, "screen_waiting_room")

    expect(bob.locator("#rematch-offer")).to_have_text("Ann offers a rematch. Join", timeout=WAIT_MS)
    expect(bob.locator("#play-again")).to_be_hidden()
    keep_screens(bob, "screen_rematch_offer")
    bob.locator("#join-rematch").click()
    bob.wait_for_url(f"{server.http_url}/rooms/{new_room}/", timeout=WAIT_MS)

    spectator.wait_for_url(f"{server.http_url}/rooms/{new_room}/watch/", timeout=WAIT_MS)
    expect(spectator.locator("#watch-status")).to_have_attribute("data-state", "watching", timeout=WAIT_MS)
    expect(spectator.locator("#table .watch-players li")).to_have_count(3)
    expect(spectator.locator("#outcome")).to_be_hidden()
    for page in (ann, bob):
        expect(page.locator("#table")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#players .player")).to_have_count(3)
        expect(page.locator("#players .player[data-seat='1']")).to_contain_text("computer")
    expect(bob.locator("#players .player[data-you='true']")).to_contain_text("Bob (you)")
    # The new seats are kept in the browser like seats joined in the lobby.
    kept = bob.evaluate(f"Object.keys(localStorage).filter((k) => k.startsWith('discard:seat:{new_room}:'))")
    assert kept == [f"discard:seat:{new_room}:2"]
    assert ann_errors == [] and bob_errors == [] and spectator_errors == []


def test_the_same_seat_on_another_device_closes_the_older_page(server, browser):
    room_id, ann_token, _ = two_people_and_a_computer(server)
    first, errors = open_seat(browser, server, room_id, ann_token)
    expect(first.locator("#waiting")).to_be_visible(timeout=WAIT_MS)
    expect(first.locator("#connection")).to_have_text("Connected", timeout=WAIT_MS)

    second, _ = open_seat(browser, server, room_id, ann_token)  # another browser context: no BroadcastChannel

    expect(first.locator("#elsewhere")).to_contain_text("opened in another tab", timeout=WAIT_MS)
    expect(second.locator("#waiting")).to_be_visible(timeout=WAIT_MS)
    expect(second.locator("#connection")).to_have_text("Connected")
    first.wait_for_timeout(2000)
    expect(first.locator("#elsewhere")).to_be_visible()  # it does not reconnect by itself
    expect(second.locator("#connection")).to_have_text("Connected")
    assert errors == []
