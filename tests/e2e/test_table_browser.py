"""The table in Chromium after issue 10: the admin heard by live sockets, the seat kept by the
browser, feedback (toasts, fresh cards, motion), the phone layout, the rules page, keyboard
play and an axe-core audit. Screenshots go to tests/artifacts/ (git-ignored)."""

import json
import os
import re
import subprocess
import sys

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.test_game_browser import (ANSWER, WAIT_MS, create_room, keep_screenshot, lobby_request, next_prompt,
                                         no_screenshot, watch_errors)
from tests.servers import ROOT, Daphne, server_env, sqlite_database

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ADMIN_PASSWORD = "table-admin-password"


@pytest.fixture
def server(tmp_path):
    with sqlite_database(tmp_path) as database_url:
        env = server_env(database_url, GAME_SEED=1742, MAX_TURNS=80)
        subprocess.run([sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", "admin",
                        "--email", "admin@example.com"], cwd=ROOT, check=True, timeout=120,
                       env=env | {"DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD})
        with Daphne(env, log_path=tmp_path / "daphne.log") as daphne:
            yield daphne


def new_page(browser, server, viewport=DESKTOP, **options):
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    return page, watch_errors(page)


def keep_seat(page, server, room_id: int, seat: int, token: str, name: str = "Ada") -> None:
    """Put a seat in the browser's storage as the lobby page leaves it (localStorage, by room and seat)."""
    page.goto(f"{server.http_url}/rules/")
    page.evaluate("([key, value]) => localStorage.setItem(key, value)",
                  [f"discard:seat:{room_id}:{seat}", json.dumps({"token": token, "name": name, "roomName": "T"})])


def seat_page(browser, server, room_id, token, viewport=DESKTOP, **options):
    page, errors = new_page(browser, server, viewport, **options)
    keep_seat(page, server, room_id, 0, token)
    page.goto(f"{server.http_url}/rooms/{room_id}/")
    return page, errors


def first_turn(page) -> None:
    kind = next_prompt(page)
    while kind != "turn":
        ANSWER[kind](page, no_screenshot)
        kind = next_prompt(page)


def admin_login(browser, server):
    page, _ = new_page(browser, server)
    page.goto(f"{server.http_url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
    return page


def admin_action(admin, server, room_id: int, action: str) -> None:
    admin.goto(f"{server.http_url}/admin/rooms/room/")
    admin.check(f"input[name=_selected_action][value='{room_id}']")
    admin.select_option("select[name=action]", action)
    admin.click("button[name=index]")
    expect(admin.locator(".messagelist")).to_be_visible()


# --- 1. the admin through the services ----------------------------------------------------


def test_admin_fill_with_computers_begins_the_game_without_a_reload(server, browser):
    room_id, token = create_room(server, computers=0, players=3)
    page, errors = seat_page(browser, server, room_id, token)
    expect(page.locator("#needed")).to_have_text("Waiting for 2 more players.", timeout=WAIT_MS)

    admin_action(admin_login(browser, server), server, room_id, "fill_with_computers")

    expect(page.locator("#table")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#players .player")).to_have_count(3)
    assert errors == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_admin_close_tells_the_players_and_leads_back_to_the_lobby(server, browser, viewport):
    room_id, token = create_room(server, computers=2)
    page, errors = seat_page(browser, server, room_id, token, viewport)
    expect(page.locator("#table")).to_be_visible(timeout=WAIT_MS)

    admin_action(admin_login(browser, server), server, room_id, "close_rooms")

    expect(page.locator("#room-closed")).to_contain_text("An administrator closed this room", timeout=WAIT_MS)
    expect(page.locator("#table")).to_be_hidden()
    keep_screenshot(page, f"table_room_closed_{viewport['width']}")
    page.wait_for_timeout(1500)
    assert page.evaluate("performance.getEntriesByType('resource').length") >= 0
    assert page.locator("#connection").inner_text() == "Room closed"  # no reconnecting
    page.locator("#back-to-lobby-closed").click()
    page.wait_for_url(f"{server.http_url}/")
    expect(page.locator("#your-games")).to_be_hidden()  # the closed room's seat is forgotten
    assert errors == []


# --- 2. the seat belongs to the browser; reload keeps log and chat ------------------------


def test_a_second_tab_on_an_open_seat_says_so_and_can_take_it_over(server, browser):
    room_id, token = create_room(server, computers=1)
    first, errors = seat_page(browser, server, room_id, token)
    expect(first.locator("#table")).to_be_visible(timeout=WAIT_MS)

    second = first.context.new_page()
    second.goto(f"{server.http_url}/rooms/{room_id}/")
    expect(second.locator("#elsewhere")).to_contain_text("open in another tab", timeout=WAIT_MS)
    expect(second.locator("#table")).to_be_hidden()
    second.locator("#use-here").click()

    expect(second.locator("#table")).to_be_visible(timeout=WAIT_MS)
    expect(first.locator("#elsewhere")).to_contain_text("opened in another tab", timeout=WAIT_MS)
    first.wait_for_timeout(2000)
    expect(first.locator("#elsewhere")).to_be_visible()  # it does not reconnect by itself
    assert errors == []


def test_two_seats_of_one_room_in_one_browser_ask_which_to_play(server, browser):
    room = lobby_request(server, "CREATE_A_ROOM", {"room_name": "Two of us", "num_of_players": 2, "user_name": "Ada"})
    bob = lobby_request(server, "JOIN_ROOM", {"room_id": room["room"]["room_id"], "user_name": "Bob"})
    room_id = room["room"]["room_id"]
    page, errors = new_page(browser, server)
    keep_seat(page, server, room_id, 0, room["player"]["token"], "Ada")
    keep_seat(page, server, room_id, 1, bob["player"]["token"], "Bob")
    page.goto(f"{server.http_url}/rooms/{room_id}/")

    expect(page.locator("#choose-seat")).to_be_visible()
    page.locator("#seat-choices button", has_text="Bob").click()
    expect(page.locator("#waiting")).to_contain_text("Bob", timeout=WAIT_MS)
    expect(page.locator("#roommates [data-seat='1']")).to_contain_text("you")

    page.goto(f"{server.http_url}/")
    expect(page.locator("#your-games li")).to_have_count(2)
    assert errors == []


def test_the_lobby_keeps_the_seat_in_the_browser_and_lists_your_games(server, browser):
    page, errors = new_page(browser, server)
    page.goto(f"{server.http_url}/")
    page.fill("#user-name", "Ada")
    page.click("#create-open")
    page.fill("input[name=room_name]", "Mine")
    page.fill("input[name=num_of_players]", "2")
    page.fill("input[name=computers]", "1")
    page.click("#create-form button[type=submit]")
    page.wait_for_url(re.compile(r"/rooms/\d+/$"))
    expect(page.locator("#table")).to_be_visible(timeout=WAIT_MS)

    other = page.context.new_page()  # a new tab of the same browser: no sessionStorage
    other.goto(f"{server.http_url}/")
    expect(other.locator("#your-games li")).to_contain_text("Mine — as Ada")
    assert errors == []


def test_a_reload_keeps_the_log_and_the_chat(server, browser):
    room_id, token = create_room(server, computers=1)
    page, errors = seat_page(browser, server, room_id, token)
    first_turn(page)
    page.locator("#chat-input").fill("hello table")
    page.locator("#chat-send").click()
    expect(page.locator("#chat-log li")).to_have_text("Ada: hello table", timeout=WAIT_MS)
    lines = page.locator("#log li").count()
    assert lines >= 2

    page.reload()

    expect(page.locator("#chat-log li")).to_have_text("Ada: hello table", timeout=WAIT_MS)
    expect(page.locator("#log li")).not_to_have_count(0)
    assert page.locator("#log li").count() >= min(lines, 3)
    texts = page.locator("#log li").all_inner_texts()
    page.evaluate("() => {}")
    # A resync after the reload adds nothing already shown.
    page.wait_for_timeout(500)
    assert page.locator("#log li").all_inner_texts() == texts
    assert errors == []


# --- 3. feedback ----------------------------------------------------------------------------


def test_a_wrong_play_is_told_in_a_toast_and_drawn_cards_are_marked(server, browser):
    room_id, token = create_room(server, computers=1)
    page, errors = seat_page(browser, server, room_id, token)
    first_turn(page)
    playable = page.locator("#hand [data-playable]")
    if playable.count():
        # A playable card then any other normal card: no legal play has that shape (R9).
        playable.first.click()
        others = page.locator("#hand [data-card-id]:not([aria-pressed='true'])")
        others.first.click()
        page.locator("#play").click()
        expect(page.locator("#toasts .toast.penalty")).to_contain_text("Wrong play", timeout=WAIT_MS)
        keep_screenshot(page, "table_toast_wrong_play")
    else:
        page.locator("#draw").click()
    expect(page.locator("#hand [data-fresh]").first).to_be_visible(timeout=WAIT_MS)
    assert "just drawn" in page.locator("#hand [data-fresh]").first.get_attribute("aria-label")
    assert errors == []


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_played_cards_travel_to_the_pile_unless_motion_is_reduced(server, browser, motion):
    room_id, token = create_room(server, computers=3)
    page, errors = seat_page(browser, server, room_id, token, reduced_motion=motion)
    first_turn(page)
    page.locator("#draw").click()
    # The three computers play before the next turn: some of them lay cards.
    first_turn(page)
    expect(page.locator("#players [data-testid^='last-play-']").first).to_be_visible()
    moved = int(page.locator("#top-card").get_attribute("data-moved") or 0)
    if motion == "reduce":
        assert moved == 0
    else:
        assert moved > 0
    assert errors == []


def test_the_board_says_nobody_s_turn_after_the_end(server, browser):
    room_id, token = create_room(server, computers=1)
    page, errors = seat_page(browser, server, room_id, token)
    for _ in range(400):
        kind = next_prompt(page)
        if kind == "over":
            break
        ANSWER[kind](page, no_screenshot)
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#whose-turn")).to_have_text("")
    expect(page.locator("#players [data-current='true']")).to_have_count(0)
    assert errors == []


# --- 4. the phone -------------------------------------------------------------------------


def test_the_phone_shows_the_table_without_scrolling_with_eight_players(server, browser):
    data = lobby_request(server, "CREATE_A_ROOM", {"room_name": "W" * 40, "num_of_players": 8,
                                                   "user_name": "X" * 24, "computers": 7})
    page, errors = seat_page(browser, server, data["room"]["room_id"], data["player"]["token"], PHONE)
    first_turn(page)

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for selector in ("#top-card", "#prompt-area", "#hand [data-card-id]"):
        box = page.locator(selector).first.bounding_box()
        assert box["y"] + box["height"] <= PHONE["height"], (selector, box)
    tops = {round(b["y"]) for b in (p.bounding_box() for p in page.locator("#players .player").all())}
    assert len(tops) == 1, "opponents in one row"
    keep_screenshot(page, "phone_table_8_players")
    assert errors == []


def test_the_waiting_room_on_the_phone_has_no_empty_chat(server, browser):
    room_id, token = create_room(server, computers=0, players=2)
    page, errors = seat_page(browser, server, room_id, token, PHONE)
    expect(page.locator("#waiting")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#side")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    keep_screenshot(page, "phone_waiting_room")
    assert errors == []


# --- 5. rules and the first-game hint ------------------------------------------------------


def test_the_rules_page_pictures_each_special_card(server, browser):
    page, errors = new_page(browser, server)
    page.goto(f"{server.http_url}/rules/")
    expect(page.locator("#special-cards li svg")).to_have_count(5)
    expect(page.locator("#special-cards")).to_contain_text("Skip: the next player loses their turn.")
    keep_screenshot(page, "rules_page")
    assert errors == []


def test_the_first_game_hint_can_be_dismissed_for_good(server, browser):
    room_id, token = create_room(server, computers=1)
    page, errors = seat_page(browser, server, room_id, token)
    expect(page.locator("#hint")).to_be_visible(timeout=WAIT_MS)
    page.locator("#dismiss-hint").click()
    expect(page.locator("#hint")).to_be_hidden()
    page.reload()
    expect(page.locator("#table")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#hint")).to_be_hidden()
    assert errors == []


# --- 6. accessibility ---------------------------------------------------------------------


def test_cards_are_named_buttons_and_the_keyboard_plays(server, browser):
    room_id, token = create_room(server, computers=1)
    page, errors = seat_page(browser, server, room_id, token)
    first_turn(page)
    cards = page.locator("#hand [data-card-id]")
    assert re.match(r"^(red|blue|green|yellow) \w", cards.first.get_attribute("aria-label"))
    expect(page.locator("#log")).to_have_attribute("aria-live", "polite")

    cards.first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.cardId") == cards.nth(1).get_attribute("data-card-id")
    playable = page.locator("#hand [data-playable]")
    if playable.count():
        playable.first.focus()
        page.keyboard.press("Space")
        expect(playable.first).to_have_attribute("aria-pressed", "true")
        page.keyboard.press("Enter")
    else:
        page.keyboard.press("d")
    expect(page.locator("#prompt-area")).to_have_attribute("data-kind", "", timeout=WAIT_MS)
    assert errors == []


def serious(results) -> list[str]:
    return [f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes']][:3]}" for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_axe_finds_no_serious_violation(server, browser):
    axe = Axe()
    found = {}
    page, _ = new_page(browser, server)
    page.goto(f"{server.http_url}/")
    expect(page.locator("#lobby-prompt")).not_to_have_text("Connecting to the lobby…", timeout=WAIT_MS)
    found["lobby"] = serious(axe.run(page))
    page.goto(f"{server.http_url}/rules/")
    found["rules"] = serious(axe.run(page))

    room_id, token = create_room(server, computers=0, players=2)
    page, _ = seat_page(browser, server, room_id, token)
    expect(page.locator("#waiting")).to_be_visible(timeout=WAIT_MS)
    found["waiting room"] = serious(axe.run(page))

    room_id, token = create_room(server, computers=1)
    page, _ = seat_page(browser, server, room_id, token)
    first_turn(page)
    found["table"] = serious(axe.run(page))
    for _ in range(400):
        kind = next_prompt(page)
        if kind == "over":
            break
        ANSWER[kind](page, no_screenshot)
    found["result"] = serious(axe.run(page))

    assert found == {name: [] for name in found}


def test_a_countdown_shows_on_the_seat_to_play_when_turn_timeout_is_on(tmp_path, browser):
    with sqlite_database(tmp_path) as database_url:
        env = server_env(database_url, GAME_SEED=1742, MAX_TURNS=80, TURN_TIMEOUT=40)
        with Daphne(env, log_path=tmp_path / "daphne.log") as server:
            room_id, token = create_room(server, computers=1)
            page, errors = seat_page(browser, server, room_id, token)
            first_turn(page)
            countdown = page.locator("#players [data-you='true'] [data-testid='countdown']")
            expect(countdown).to_have_text(re.compile(r"^\d+ s$"))
            assert 25 <= int(countdown.inner_text().split()[0]) <= 40
            page.reload()  # the view's prompt carries the deadline too
            first_turn(page)
            expect(countdown).to_be_visible()
            assert errors == []


def test_the_leaver_is_told_when_the_others_left_too(server, browser, tmp_path):
    from tests.e2e.test_leaving_browser import leave_and_download, start_game

    _room_id, _token, (ada, ada_errors), (bob, bob_errors) = start_game(server, browser, players=3, computers=1)
    leave_and_download(ada, tmp_path)
    expect(ada.locator("#rejoin")).to_be_visible(timeout=WAIT_MS)
    expect(bob.locator("#leave-too")).to_be_visible(timeout=WAIT_MS)
    bob.locator("#leave-too").click()

    expect(ada.locator("#left-title")).to_have_text("You left — the game has ended", timeout=WAIT_MS)
    expect(ada.locator("#rejoin")).to_be_hidden()
    assert ada_errors == [] and bob_errors == []
