"""The admin: rooms with players inline, filters, search, and the two actions."""

import pytest

from rooms import services
from rooms.models import Deadline, Player, Room


@pytest.fixture
def rooms(db):
    open_room, _ = services.room_create(room_name="Alpha", num_of_players=4, user_name="Ann", computers=1)
    other, _ = services.room_create(room_name="Beta", num_of_players=2, user_name="Bob")
    return open_room["room_id"], other["room_id"]


def test_changelist_filters_and_searches(admin_client, rooms):
    assert admin_client.get("/admin/rooms/room/?status__exact=waiting").status_code == 200
    page = admin_client.get("/admin/rooms/room/?q=alph").content.decode()

    assert "Alpha" in page and "Beta" not in page


def test_change_page_shows_the_players_inline(admin_client, rooms):
    page = admin_client.get(f"/admin/rooms/room/{rooms[0]}/change/").content.decode()

    assert "Ann" in page and "Computer 1" in page


def test_fill_with_computers_action(admin_client, rooms):
    admin_client.post("/admin/rooms/room/", {"action": "fill_with_computers", "_selected_action": [rooms[0]]})

    names = list(Player.objects.filter(room_id=rooms[0]).order_by("seat").values_list("name", flat=True))
    assert names == ["Ann", "Computer 1", "Computer 2", "Computer 3"]
    assert services.rooms_open() == [services.room_data(Room.objects.get(pk=rooms[1]))]


def test_fill_with_computers_seats_the_level_picked_in_the_action_bar(admin_client, rooms):
    page = admin_client.get("/admin/rooms/room/").content.decode()
    assert 'name="level"' in page and '<option value="hard">' in page
    already = set(Player.objects.filter(room_id=rooms[0]).values_list("pk", flat=True))

    admin_client.post("/admin/rooms/room/", {"action": "fill_with_computers", "level": "hard",
                                             "_selected_action": [rooms[0]]})

    seated = Player.objects.filter(room_id=rooms[0]).exclude(pk__in=already)
    assert sorted(seated.values_list("level", flat=True)) == ["hard", "hard"]


def test_fill_with_computers_refuses_an_unknown_level(admin_client, rooms):
    before = Player.objects.filter(room_id=rooms[0]).count()
    admin_client.post("/admin/rooms/room/", {"action": "fill_with_computers", "level": "godlike",
                                             "_selected_action": [rooms[0]]})

    assert Player.objects.filter(room_id=rooms[0]).count() == before


def test_close_action(admin_client, rooms):
    admin_client.post("/admin/rooms/room/", {"action": "close_rooms", "_selected_action": list(rooms)})

    assert set(Room.objects.values_list("status", flat=True)) == {"closed"}
    assert not Deadline.objects.filter(claimed_at__isnull=True).exists()
    assert services.rooms_open() == []


def test_fill_with_computers_begins_the_game_of_connected_people(admin_client, rooms,
                                                                  django_capture_on_commit_callbacks):
    from game.models import Game

    services.connection_open(channel_name="ann-tab", player_id=Player.objects.get(room_id=rooms[0], seat=0).pk)
    assert not Game.objects.filter(room_id=rooms[0]).exists()

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/rooms/room/", {"action": "fill_with_computers", "_selected_action": [rooms[0]]})

    assert Game.objects.filter(room_id=rooms[0]).exists()
    assert Room.objects.get(pk=rooms[0]).status == "playing"


@pytest.mark.parametrize("wanted, refused", [(2, True), (1, True), (9, True), (6, False)])
def test_change_form_refuses_impossible_player_counts(admin_client, rooms, wanted, refused):
    services.room_join(room_id=rooms[0], user_name="Cy")  # Ann, Computer 1, Cy: 3 seated of 4

    page = admin_client.post(f"/admin/rooms/room/{rooms[0]}/change/", {
        "name": "Alpha", "num_of_players": wanted, "players-TOTAL_FORMS": 0, "players-INITIAL_FORMS": 0})

    assert Room.objects.get(pk=rooms[0]).num_of_players == (4 if refused else wanted)
    assert (page.status_code == 200) == refused  # the form again, with the reason


def test_change_page_links_to_the_game(admin_client, rooms, django_capture_on_commit_callbacks):
    services.connection_open(channel_name="ann-tab", player_id=Player.objects.get(room_id=rooms[0], seat=0).pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.room_fill_with_computers(room_id=rooms[0])

    page = admin_client.get(f"/admin/rooms/room/{rooms[0]}/change/").content.decode()

    assert "/admin/game/game/" in page
