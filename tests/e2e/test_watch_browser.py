"""Spectators and replays in a real browser: a spectator follows a game of one person against
a computer from the lobby's list of games being played to its result, a finished game's replay
is stepped through with the buttons, the arrow keys and a jump to a turn, and a room created
not watchable refuses its spectators.

Playwright drives Debian's chromium against a real daphne on a migrated database; the person
plays through the room page (tests/e2e/test_game_browser.py's answers), or, where only the
finished game matters, over a WebSocket from the test.
"""

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from tests.e2e.test_game_browser import (ANSWER, MAX_ANSWERS, WAIT_MS, create_room, keep_screenshot, lobby_request,
                                         next_prompt, no_screenshot, open_seat, watch_errors)
from tests.game.helpers import WebsocketClient
from tests.servers import Daphne, server_env, sqlite_database

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

MAX_TURNS = 40  # a short game: the person's part of it is about 20 answers
SPECTATORS_GAP = 10  # seconds between two `spectators` events (game.services.SPECTATORS_GAP)


@pytest.fixture
def server(tmp_path):
    with sqlite_database(tmp_path) as database_url:
        env = server_env(database_url, GAME_SEED=1742, MAX_TURNS=MAX_TURNS)
        with Daphne(env, log_path=tmp_path / "daphne.log") as daphne:
            yield daphne


def spectator_page(browser):
    """A page in a browser context of its own: a spectator holds no seat's token."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    return page, watch_errors(page)


def cards_left(text: str) -> int:
    return int(re.search(r": (\d+) cards?", text).group(1))


def assert_hands_face_down(page) -> None:
    """Every hand shows as its count and as many card backs (at most 12); the one face up is the pile's top.

    Each hand's backs and count are read in one evaluation: read apart, a change arriving
    between the two reads (the game goes on while the test looks) would compare two tables.
    """
    hands = page.locator("#table .watch-players li").evaluate_all(
        "items => items.map(li => [li.querySelectorAll('.face-down .card-back').length, li.innerText])")
    assert hands
    for shown, text in hands:
        assert shown == min(cards_left(text), 12), text
    assert page.locator("#table svg").count() == 1
    expect(page.locator("#table .watch-pile svg")).to_be_visible()


def finish_game_over_a_socket(server, room_id: int, token: str) -> None:
    """Play the person's seat to the end over a WebSocket (legal answers, no pacing)."""

    async def play():
        client = await WebsocketClient(server.ws_url, room_id, token).connect()
        try:
            await client.hello()
            await client.play_until_over(timeout=30)
        finally:
            await client.close()

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, play()).result(timeout=120)


def test_a_spectator_watches_a_game_from_the_lobby_to_its_result(server, browser):
    room_id, token = create_room(server, computers=1)
    player, player_errors = open_seat(browser, server, room_id, token)
    expect(player.locator("#table")).to_be_visible(timeout=WAIT_MS)

    # The first spectator finds the game in the lobby's list of games being played.
    watcher, watcher_errors = spectator_page(browser)
    watcher.goto(f"{server.http_url}/")
    link = watcher.locator(f"#live-games li[data-room-id='{room_id}'] a")
    expect(link).to_have_text("Watch Browser table", timeout=WAIT_MS)
    expect(watcher.locator(f"#live-games li[data-room-id='{room_id}']")).to_contain_text("Ada")
    link.click()
    watcher.wait_for_url(f"{server.http_url}/rooms/{room_id}/watch/", timeout=WAIT_MS)
    expect(watcher.locator("#watch-status")).to_have_attribute("data-state", "watching", timeout=WAIT_MS)
    expect(watcher.locator("#spectators")).to_have_text("1 watching")
    expect(watcher.locator("#table .watch-players li")).to_have_count(2)
    expect(watcher.locator("#table .watch-players li").first).to_contain_text("Ada")
    assert_hands_face_down(watcher)

    # A second one comes by the page's address; the first hears of it within SPECTATORS_GAP.
    second, second_errors = spectator_page(browser)
    second.goto(f"{server.http_url}/rooms/{room_id}/watch/")
    expect(second.locator("#spectators")).to_have_text("2 watching", timeout=WAIT_MS)
    expect(watcher.locator("#spectators")).to_have_text("2 watching", timeout=(SPECTATORS_GAP + 10) * 1000)
    assert_hands_face_down(second)
    events = watcher.locator("#events li")
    before = events.count()

    for _ in range(MAX_ANSWERS):
        kind = next_prompt(player)
        if kind == "over":
            break
        ANSWER[kind](player, no_screenshot)
        if events.count() > before + 6:
            assert_hands_face_down(watcher)  # in the middle of the game too
    else:
        pytest.fail(f"no result after {MAX_ANSWERS} answers")

    for page in (watcher, second):
        expect(page.locator("#outcome")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#watch-status")).to_have_attribute("data-state", "over")
        expect(page.locator("#events li").last).to_have_text(re.compile(r"wins the game\.$"))
    assert events.count() > before + 10, "the event log grew with the game"
    expect(events.filter(has_text=re.compile(r"^Ada (played|drew) "))).not_to_have_count(0)
    expect(events.filter(has_text=re.compile(r"^Computer 1 (played|drew) "))).not_to_have_count(0)
    assert_hands_face_down(watcher)
    winner = player.locator("#result-title").inner_text()
    assert ("Ada" if winner == "You win!" else winner.removesuffix(" wins.")) in watcher.locator("#outcome").inner_text()
    keep_screenshot(watcher, "watch_game_over")
    assert player_errors == watcher_errors == second_errors == []


def test_a_finished_game_is_replayed_step_by_step_with_buttons_keys_and_a_jump(server, browser):
    room_id, token = create_room(server, computers=1)
    finish_game_over_a_socket(server, room_id, token)

    page, errors = spectator_page(browser)
    page.goto(f"{server.http_url}/games/")
    page.locator("#games tbody tr a", has_text="Replay #").first.click()
    page.wait_for_url(re.compile(r"/games/\d+/replay/$"), timeout=WAIT_MS)
    step = page.locator("#step")
    expect(step).to_have_text(re.compile(r"^Event 0 of \d+ · turn 0$"), timeout=WAIT_MS)
    expect(page.locator("#event-text")).to_have_text("The deal.")
    total = int(re.search(r"of (\d+)", step.inner_text()).group(1))
    assert total > 10
    expect(page.locator("#table .watch-players li")).to_have_count(2)
    assert_hands_face_down(page)
    dealt = page.locator("#table").inner_html()

    def table_at(index: int) -> str:
        expect(step).to_have_attribute("data-step", str(index))
        return page.locator("#table").inner_html()

    forward, back = page.locator("#forward"), page.locator("#back")
    forward.click()
    tables = [dealt, table_at(1)]
    expect(page.locator("#event-text")).not_to_have_text("The deal.")
    for index in range(2, 8):
        page.keyboard.press("ArrowRight")
        tables.append(table_at(index))
    assert len(set(tables)) > 2, "stepping moves the table on (turns, plays, draws)"
    page.keyboard.press("ArrowLeft")
    assert table_at(6) == tables[6]
    back.click()
    assert table_at(5) == tables[5]
    for index in range(4, -1, -1):
        back.click()
        assert table_at(index) == tables[index]
    back.click()  # already at the deal
    assert table_at(0) == dealt

    page.locator("#turn").fill("5")
    page.locator("#jump").click()
    expect(step).to_have_text(re.compile(r"· turn 5$"))
    expect(page.locator("#event-text")).to_have_text(re.compile(r"^It is .+'s turn\.$"))
    assert_hands_face_down(page)
    current = page.locator("#table .watch-players li.current")
    expect(current).to_have_count(1)
    page.locator("#turn").fill("100000")
    page.locator("#jump").click()  # past the end: the last event, the result
    expect(step).to_have_attribute("data-step", str(total))
    expect(page.locator("#event-text")).to_have_text(re.compile(r"wins the game\.$"))
    forward.click()
    expect(step).to_have_attribute("data-step", str(total))
    keep_screenshot(page, "replay_last_event")
    assert errors == []


def test_a_room_created_not_watchable_refuses_a_spectator(server, browser):
    data = lobby_request(server, "CREATE_A_ROOM", {"room_name": "Private table", "num_of_players": 2,
                                                   "user_name": "Ada", "computers": 1, "watchable": False})
    room_id, token = data["room"]["room_id"], data["player"]["token"]
    player, player_errors = open_seat(browser, server, room_id, token)
    expect(player.locator("#table")).to_be_visible(timeout=WAIT_MS)  # the game is being played

    page, errors = spectator_page(browser)
    page.goto(f"{server.http_url}/")
    expect(page.locator("#live-games")).to_have_attribute("data-total", "0", timeout=WAIT_MS)  # the list came
    expect(page.locator("#no-live-games")).to_be_visible()
    expect(page.locator("#live-games li")).to_have_count(0)

    page.goto(f"{server.http_url}/rooms/{room_id}/watch/")
    status = page.locator("#watch-status")
    expect(status).to_have_attribute("data-state", "refused", timeout=WAIT_MS)
    expect(status).to_have_text("This game cannot be watched.")
    expect(page.locator("#table")).to_be_empty()
    expect(page.locator("#events li")).to_have_count(0)
    assert errors == [] and player_errors == []
