"""Retention (docs/operations.md "Retention"): `manage.py purge` on the real database."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from game.models import ChatLine, Game, GameLog, SavedGameState
from game.retention import parse_age
from rooms.models import Deadline, Room, RoomDraft
from tests.spectators.test_replay import begun

pytestmark = pytest.mark.django_db(transaction=True)


def aged(model, pk, days: float, field: str = "updated") -> None:
    model.objects.filter(pk=pk).update(**{field: timezone.now() - timedelta(days=days)})


def finished_game(name: str, room_days: float, game_days: float) -> Game:
    """A watchable game played in room `name`, over, with a chat line; aged as asked."""
    room_id = begun(1, 1, name=name)
    game = Game.objects.get(room_id=room_id)
    ChatLine.objects.create(game=game, seq=game.event_count, seat=0, name="Ann", text="gg")
    Game.objects.filter(pk=game.pk).update(status=Game.Status.FINISHED)
    Room.objects.filter(pk=room_id).update(status=Room.Status.FINISHED)
    aged(Room, room_id, room_days)
    aged(Game, game.pk, game_days)
    return game


@pytest.fixture
def world(settings):
    """Rows of every kind, some past retention and some not."""
    settings.REPLAY_DAYS = 90
    kept_game = finished_game("Old room, recent game", room_days=40, game_days=40)
    gone_game = finished_game("Ancient", room_days=100, game_days=100)
    recent = finished_game("Recent", room_days=10, game_days=10)
    closed = Room.objects.create(name="Closed", num_of_players=2, status=Room.Status.CLOSED)
    aged(Room, closed.pk, 40)
    waiting = Room.objects.create(name="Waiting", num_of_players=2)
    aged(Room, waiting.pk, 40)  # still open: kept, however old
    ended = RoomDraft.objects.create(status=RoomDraft.Status.CANCELLED, ended=timezone.now() - timedelta(days=40))
    open_draft = RoomDraft.objects.create()
    saved = SavedGameState.objects.create(game=recent, room_id=recent.room_id, reason="leave", version=1,
                                          players=[], state={})
    aged(SavedGameState, saved.pk, 40, "created")
    fired = Deadline.objects.create(kind="x", due_at=timezone.now() - timedelta(days=41),
                                    claimed_at=timezone.now() - timedelta(days=40))
    pending = Deadline.objects.create(kind="x", due_at=timezone.now() - timedelta(days=41))
    return locals()


def run(*args) -> str:
    out = io.StringIO()
    call_command("purge", *args, stdout=out)
    return out.getvalue()


def counts() -> dict:
    return {model.__name__: model.objects.count()
            for model in (Room, RoomDraft, Game, GameLog, ChatLine, SavedGameState, Deadline)}


def test_a_dry_run_counts_and_deletes_nothing(world):
    before = counts()
    out = run("--older-than", "30d", "--dry-run")
    assert counts() == before
    assert "would delete 3 rooms" in out and "would delete 1 games" in out
    assert "would delete 1 drafts" in out and "would delete 1 deadlines" in out


def test_purge_deletes_ended_rooms_drafts_saved_states_fired_deadlines_and_old_games(world, client):
    kept_game, gone_game = world["kept_game"], world["gone_game"]
    out = run("--older-than", "30d")

    assert "deleted 3 rooms" in out  # the two old finished rooms and the closed one
    assert "deleted 1 drafts" in out and "deleted 1 saved_states" in out and "deleted 1 deadlines" in out
    assert "deleted 1 games" in out and "deleted 1 chat_lines" in out
    assert set(Room.objects.values_list("name", flat=True)) == {"Waiting", "Recent"}
    assert list(RoomDraft.objects.all()) == [world["open_draft"]]
    assert list(Deadline.objects.values_list("pk", flat=True)) == [world["pending"].pk]
    assert not SavedGameState.objects.exists()
    assert not Game.objects.filter(pk=gone_game.pk).exists()
    assert not GameLog.objects.filter(game_id=gone_game.pk).exists()

    # The game whose room went stays replayable, its room name with it.
    kept = Game.objects.get(pk=kept_game.pk)
    assert kept.room_id is None and kept.room_name == "Old room, recent game"
    assert GameLog.objects.filter(game=kept).exists()
    assert client.get(f"/games/{kept.pk}/events.json").json()["game_id"] == kept.pk
    page = client.get(f"/games/{kept.pk}/replay/")
    assert page.status_code == 200 and "Old room, recent game" in page.content.decode()
    listing = client.get("/games/").content.decode()
    assert "Old room, recent game" in listing and "Ancient" not in listing

    assert "deleted 0 rooms" in run("--older-than", "30d")  # nothing left to do


def test_the_admin_shows_a_game_whose_room_was_purged(world, admin_client):
    run("--older-than", "30d")
    kept = world["kept_game"]
    assert admin_client.get("/admin/game/game/").status_code == 200
    assert admin_client.get(f"/admin/game/game/{kept.pk}/change/").status_code == 200


def test_without_older_than_the_setting_applies(world, settings):
    settings.PURGE_AFTER_DAYS = 50
    out = run("--dry-run")
    assert "would delete 1 rooms" in out  # only the 100-day-old room is older than 50 days


def test_ages():
    assert parse_age("30d") == parse_age("30") == timedelta(days=30)
    assert parse_age("12h") == timedelta(hours=12) and parse_age("90m") == timedelta(minutes=90)
    for bad in ("", "30x", "-1d", "d"):
        with pytest.raises(ValueError):
            parse_age(bad)
    with pytest.raises(CommandError):
        call_command("purge", "--older-than", "soon")
