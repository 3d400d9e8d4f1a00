"""The games admin: listed with a status filter, events inline and listed, nothing editable."""

import pytest

from game.models import Game, GameLog
from game.services import game_begin_if_ready
from rooms.models import Player
from rooms.services import connection_open, room_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def game(settings):
    settings.GAME_SEED = 5
    room, _ = room_create(room_name="Admin table", num_of_players=2, user_name="Ann", computers=1)
    # A room whose only human is not connected does not begin...
    assert game_begin_if_ready(room_id=room["room_id"]) is False
    # ...and begins when it connects, exactly once.
    connection_open(channel_name="test-channel",
                    player_id=Player.objects.get(room_id=room["room_id"], seat=0).pk)
    assert Game.objects.filter(room_id=room["room_id"]).count() == 1
    assert game_begin_if_ready(room_id=room["room_id"]) is False
    return Game.objects.get(room_id=room["room_id"])


def test_game_changelist_filters_by_status(admin_client, game):
    page = admin_client.get("/admin/game/game/?status__exact=playing")
    assert page.status_code == 200
    assert "Admin table" in page.content.decode()
    assert "Admin table" not in admin_client.get("/admin/game/game/?status__exact=finished").content.decode()


def test_game_page_shows_its_events_and_cannot_be_edited(admin_client, game):
    page = admin_client.get(f"/admin/game/game/{game.pk}/change/")
    assert page.status_code == 200
    assert "turn" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.get("/admin/game/game/add/").status_code == 403


def test_log_list_names_each_event(admin_client, game):
    page = admin_client.get("/admin/game/gamelog/")
    assert page.status_code == 200
    assert GameLog.objects.filter(game=game).exists()
    assert "turn" in page.content.decode()


def test_game_page_shows_hands_pile_and_market_as_named_card_pictures(admin_client, game):
    from game.admin_cards import card_name

    page = admin_client.get(f"/admin/game/game/{game.pk}/change/").content.decode()

    assert "Seat 0: Ann" in page and "Market (" in page and "<svg" in page
    assert card_name(game.state["pile"][-1]) in page
    assert card_name(game.state["hands"][0][0]) in page


def test_saved_state_page_shows_cards_by_name(admin_client, game):
    from game.admin_cards import card_name
    from game.models import SavedGameState

    saved = SavedGameState.objects.create(game=game, room=game.room, reason="leave", version=game.version,
                                          players=[{"seat": 0, "name": "Ann", "is_computer": False},
                                                   {"seat": 1, "name": "Computer 1", "is_computer": True}],
                                          state=game.state)
    page = admin_client.get(f"/admin/game/savedgamestate/{saved.pk}/change/").content.decode()

    assert "Seat 1: Computer 1" in page and card_name(game.state["hands"][1][0]) in page
