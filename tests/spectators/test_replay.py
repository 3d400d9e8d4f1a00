"""Replays: whole games played through the services, the table rebuilt from the log alone at
every change and compared with the engine's state of that moment (all but the hands)."""

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from game.engine import GameState
from game.models import Game, GameLog
from game.replay import comparable, public_table, table_apply, table_begin
from game.selectors import game_replay
from game.services import game_answer, game_begin_if_ready
from rooms.models import Player
from rooms.services import connection_open, room_create, room_join
from tests.game.helpers import answer_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


def begun(humans: int, computers: int, *, watchable: bool = True, name: str = "Replayed") -> int:
    room, _ = room_create(room_name=name, num_of_players=humans + computers, user_name="Ann", computers=computers,
                          watchable=watchable)
    room_id = room["room_id"]
    for k in range(1, humans):
        room_join(room_id=room_id, user_name=f"P{k}")
    for player in Player.objects.filter(room_id=room_id, is_computer=False):
        connection_open(channel_name=f"replay-{player.pk}", player_id=player.pk)
    assert Game.objects.filter(room_id=room_id).exists() or game_begin_if_ready(room_id=room_id)
    return room_id


def logged_events(game: Game) -> list[dict]:
    return [e for row in GameLog.objects.filter(game=game).order_by("version") for e in row.events]


def play_checking_every_change(room_id: int) -> tuple[Game, int]:
    """Answer every prompt legally; after each change compare the rebuilt table with the engine's."""
    changes = 0
    table, applied = None, 0
    while True:
        game = Game.objects.get(room_id=room_id)
        events = logged_events(game)
        if table is None:
            table = table_begin(events[0])
            applied = 1
        for event in events[applied:]:
            table = table_apply(table, event)
        applied = len(events)
        assert comparable(table) == public_table(GameState.from_json(game.state)), f"after change {changes}"
        changes += 1
        if game.status != "playing":
            return game, changes
        seat = next(s for s, record in enumerate(game.seats) if record["prompt"])
        prompt = game.seats[seat]["prompt"]
        game_answer(room_id=room_id, seat=seat, payload={
            "reply_to": prompt["msg_id"], "data": answer_for(prompt["payload"], game.state["hands"][seat])})


@pytest.mark.parametrize(("humans", "computers", "seed"), [
    (2, 0, 1), (2, 0, 2), (1, 1, 3), (1, 1, 4), (3, 0, 5), (1, 2, 6), (2, 2, 7), (4, 0, 8), (1, 4, 9), (2, 4, 10),
    (1, 7, 11), (3, 5, 12),
])
def test_the_table_rebuilt_from_the_log_matches_the_engine_at_every_change(settings, humans, computers, seed):
    settings.GAME_SEED = seed
    settings.MAX_TURNS = 300
    game, changes = play_checking_every_change(begun(humans, computers))
    assert game.status == "finished" and changes > 1
    events = logged_events(game)
    assert events[0]["event"] == "begin" and [e["event"] for e in events].count("begin") == 1
    assert events[-1]["event"] == "game_over"


def test_an_all_computer_game_is_rebuilt_from_the_log_of_its_one_change(settings):
    settings.GAME_SEED = 13
    room, _ = room_create(room_name="Bots", num_of_players=3, user_name="Ann", computers=2)
    room_id = room["room_id"]
    Player.objects.filter(room_id=room_id).update(is_computer=True)  # Ann too: a table of computers
    assert game_begin_if_ready(room_id=room_id)
    game = Game.objects.get(room_id=room_id)
    replay = game_replay(game)
    table = table_begin(replay["start"])
    for event in replay["events"]:
        table = table_apply(table, event)
    assert comparable(table) == public_table(GameState.from_json(game.state)) and table["over"]


def test_the_rebuild_can_fail():
    """A table that missed one event no longer matches: the comparison sees what it claims to."""
    start = {"event": "begin", "players": [{"seat": 0, "name": "A", "is_computer": False, "cards_left": 7},
                                           {"seat": 1, "name": "B", "is_computer": True, "cards_left": 7}],
             "top_card": {"id": 1, "kind": "normal", "colour": "red", "shape": "cup"}, "market_count": 105,
             "pile_count": 1}
    drawn = table_apply(table_begin(start), {"event": "drew", "seat": 0, "count": 1, "reason": "draw"})
    assert comparable(drawn) != comparable(table_begin(start))


def test_events_json_holds_players_start_events_and_outcome_of_a_finished_watchable_game(settings, client):
    settings.GAME_SEED = 21
    game, _ = play_checking_every_change(begun(1, 2))
    answer = client.get(reverse("game_events", args=[game.pk]))
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/json")
    data = json.loads(answer.content)
    assert set(data) == {"game_id", "players", "start", "events", "outcome"}
    assert data["game_id"] == game.pk and [p["name"] for p in data["players"]] == ["Ann", "Computer 1", "Computer 2"]
    assert data["start"]["event"] == "begin" and data["events"][-1] == {"event": "game_over",
                                                                        "winner": data["outcome"]["winner"]}
    assert data["outcome"] == game.state["outcome"]
    assert len(data["events"]) + 1 == game.event_count
    assert "cards" not in json.dumps([e for e in data["events"] if e["event"] == "drew"])


def test_replays_are_not_public_for_unwatchable_or_running_games(settings, client):
    settings.GAME_SEED = 22
    hidden, _ = play_checking_every_change(begun(1, 1, watchable=False, name="Hidden"))
    running = Game.objects.get(room_id=begun(2, 0, name="Running"))
    for game in (hidden, running):
        assert client.get(reverse("game_events", args=[game.pk])).status_code == 404
        assert client.get(reverse("game_replay", args=[game.pk])).status_code == 404
    listing = client.get(reverse("games")).content.decode()
    assert "Hidden" not in listing and "Running" not in listing


def test_the_games_page_lists_finished_games_newest_first_and_filters_by_player(settings, client):
    settings.GAME_SEED = 23
    older, _ = play_checking_every_change(begun(1, 1, name="Older"))
    newer, _ = play_checking_every_change(begun(2, 0, name="Newer"))
    page = client.get(reverse("games")).content.decode()
    assert page.index("Newer") < page.index("Older")
    filtered = client.get(reverse("games"), {"player": "p1"}).content.decode()
    assert "Newer" in filtered and "Older" not in filtered
    assert client.get(reverse("game_replay", args=[newer.pk])).status_code == 200


def test_settings_keep_replays_for_replay_days(settings, client):
    settings.GAME_SEED = 24
    game, _ = play_checking_every_change(begun(1, 1))
    Game.objects.filter(pk=game.pk).update(updated=game.updated.replace(year=game.updated.year - 1))
    settings.REPLAY_DAYS = 90
    assert client.get(reverse("game_events", args=[game.pk])).status_code == 404
    settings.REPLAY_DAYS = 400
    assert client.get(reverse("game_events", args=[game.pk])).status_code == 200


def test_the_replay_command_prints_a_game_in_words_one_line_per_event(settings, capsys):
    settings.GAME_SEED = 25
    game, _ = play_checking_every_change(begun(1, 1))
    call_command("replay", str(game.pk))
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("The game begins: Ann, Computer 1; the start card is ")
    assert len(lines) == game.event_count
    assert lines[-1].endswith("wins the game.") and "It is Ann's turn." in "\n".join(lines)
