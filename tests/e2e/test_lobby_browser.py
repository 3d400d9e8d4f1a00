"""The lobby page in a real browser (Playwright driving Debian's chromium): Scenario A."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_game_browser import keep_screens
from tests.servers import Daphne, server_env, sqlite_database

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

WAIT_MS = 15000


@pytest.fixture
def server(tmp_path):
    with sqlite_database(tmp_path) as database_url:
        with Daphne(server_env(database_url), log_path=tmp_path / "daphne.log") as daphne:
            yield daphne


def test_others_see_a_room_being_created_and_then_the_room(server, browser):
    creator = browser.new_context().new_page()
    other = browser.new_context().new_page()
    for page in (creator, other):
        page.goto(f"{server.http_url}/")
        expect(page.locator("#lobby-prompt")).to_contain_text("No room is open", timeout=WAIT_MS)
    expect(other.locator("#draft-banner")).to_be_hidden()

    creator.get_by_role("button", name="Create a room").click()

    expect(other.locator("#draft-banner")).to_be_visible(timeout=WAIT_MS)
    expect(other.locator("#draft-banner")).to_contain_text("A room is being created")
    expect(other.locator("#lobby-prompt")).to_contain_text("being created")
    expect(creator.locator("#draft-banner")).to_be_hidden()  # not for one's own draft

    other.get_by_role("button", name="Wait for it").click()
    expect(other.locator("#draft-notice")).to_contain_text("Waiting", timeout=WAIT_MS)

    creator.locator("#user-name").fill("Ann")
    creator.locator("input[name=room_name]").fill("Ann's table")
    creator.locator("input[name=num_of_players]").fill("3")
    creator.get_by_role("button", name="Create", exact=True).click()

    creator.wait_for_url(re.compile(r"/rooms/\d+/$"), timeout=WAIT_MS)
    room_id = int(re.search(r"/rooms/(\d+)/$", creator.url).group(1))
    assert creator.evaluate(f"sessionStorage.getItem('discard:token:{room_id}')")
    row = other.locator(f"#rooms tr[data-room-id='{room_id}']")
    expect(row).to_contain_text("Ann's table", timeout=WAIT_MS)
    expect(other.locator("#draft-notice")).to_contain_text("is ready")
    expect(other.locator("#draft-banner")).to_be_hidden()
    keep_screens(other, "screen_lobby")

    other.locator("#user-name").fill("Bob")
    row.get_by_role("button", name="Join").click()

    other.wait_for_url(f"**/rooms/{room_id}/", timeout=WAIT_MS)
    token = other.evaluate(f"sessionStorage.getItem('discard:token:{room_id}')")
    assert token and token != creator.evaluate(f"sessionStorage.getItem('discard:token:{room_id}')")
