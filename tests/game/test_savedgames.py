"""Saved game states for operators: `manage.py savedgames list|show|export` and the admin."""

import json

import pytest
from django.core.management import CommandError, call_command

from game.models import SavedGameState
from game.services import game_begin_if_ready, game_leave, game_leave_request
from rooms.models import Player
from rooms.services import connection_open, room_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def saved(settings):
    """A game of Ann and a computer that Ann left: a `leave` and an `abandoned` state."""
    settings.GAME_SEED = 9
    room, _ = room_create(room_name="Saved table", num_of_players=2, user_name="Ann", computers=1)
    ann = Player.objects.get(room_id=room["room_id"], seat=0)
    connection_open(channel_name="saved-test", player_id=ann.pk)
    assert not game_begin_if_ready(room_id=room["room_id"])  # connecting began it
    game_leave_request(room_id=room["room_id"], seat=0, player_id=ann.pk)
    game_leave(room_id=room["room_id"], seat=0)
    return list(SavedGameState.objects.filter(room_id=room["room_id"]).order_by("id"))


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("savedgames", *args, stdout=out)
    return out.getvalue()


def test_leaving_the_only_human_seat_saves_leave_then_abandoned(saved):
    assert [s.reason for s in saved] == ["leave", "abandoned"]
    assert saved[0].players == [{"seat": 0, "name": "Ann", "is_computer": False},
                                {"seat": 1, "name": "Computer 1", "is_computer": True}]


def test_list_shows_every_saved_state(saved):
    lines = run("list").splitlines()
    assert len(lines) == 2 and all("Saved table" in line and "Ann, Computer 1" in line for line in lines)
    assert run("list", "--reason", "abandoned").count("abandoned") == 1
    assert run("list", "--room", "999999").strip() == "No saved game states."


def test_show_prints_the_players_and_the_state(saved):
    text = run("show", str(saved[0].pk))
    assert "seat 0: Ann (person" in text and "seat 1: Computer 1 (computer" in text
    assert '"hands"' in text


def test_export_writes_json_that_round_trips(saved, tmp_path):
    exported = json.loads(run("export", str(saved[0].pk)))
    assert exported["state"] == saved[0].state and exported["reason"] == "leave"
    path = tmp_path / "saved.json"
    run("export", str(saved[1].pk), "--output", str(path))
    assert json.loads(path.read_text())["id"] == saved[1].pk


def test_an_unknown_id_is_an_error(saved):
    with pytest.raises(CommandError):
        run("show", "999999")


def test_the_admin_lists_saved_states_and_shows_the_state_readable(admin_client, saved):
    page = admin_client.get("/admin/game/savedgamestate/?reason__exact=leave").content.decode()
    assert "Saved table" in page and "0: Ann" in page
    detail = admin_client.get(f"/admin/game/savedgamestate/{saved[0].pk}/change/")
    assert detail.status_code == 200
    assert "<pre>" in detail.content.decode() and "&quot;hands&quot;" in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()
