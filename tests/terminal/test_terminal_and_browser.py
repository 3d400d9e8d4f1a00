"""A terminal and a browser in one room (issue 12): the same server, the same table, one chat."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import browser  # noqa: F401 (the fixture: Debian's chromium)
from tests.terminal.test_terminal_play import create_room, room_id_on
from tests.terminal.tmux import answer_for, label

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(180)]

WAIT_MS = 15000


def test_a_terminal_and_a_browser_share_a_room(terminals, server, browser):  # noqa: F811
    ada = terminals("Ada")
    create_room(ada, "Mixed", 2, 0)
    room_id = room_id_on(ada.wait_for(r"Waiting for 1 more player"))

    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    page.goto(f"{server.http_url}/")
    row = page.locator(f"#rooms tr[data-room-id='{room_id}']")
    expect(row).to_contain_text("Ada", timeout=WAIT_MS)
    page.locator("#user-name").fill("Bea")
    row.get_by_role("button", name="Join").click()
    page.wait_for_url(f"**/rooms/{room_id}/", timeout=WAIT_MS)
    expect(page.locator("#table")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#players")).to_contain_text("Ada", timeout=WAIT_MS)

    screen = ada.wait_for(r"Your hand \(8\)")
    assert "Bea" in screen

    ada.type("/say hello Bea")
    expect(page.locator("#chat-log")).to_contain_text("hello Bea", timeout=WAIT_MS)
    page.locator("#chat-input").fill("hi Ada")
    page.locator("#chat-send").click()
    ada.wait_for(r"Bea: hi Ada")

    # One move, by whoever's turn it is; the other side sees it.
    screen = ada.wait_for(r"play>|Waiting for Bea")
    if label(screen) == "play>":
        ada.type(answer_for(screen))
        ada.wait_for(r"Ada (played|drew)")
        expect(page.locator("#log")).to_contain_text(re.compile(r"Ada (played|drew)"), timeout=WAIT_MS)
    else:
        page.locator("#draw").click()
        ada.wait_for(r"Bea drew 1 card")
