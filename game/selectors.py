"""Reads for replays and the list of finished games (docs/protocol.md "Replays")."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from game.models import Game, GameLog

REPLAYABLE = (Game.Status.FINISHED, Game.Status.ABANDONED)


def games_replayable() -> QuerySet[Game]:
    """Return the games whose replay is public: over, watchable, ended within REPLAY_DAYS.

    The game's own copy of `watchable` and the room's name count, so a game stays listed and
    replayable after its room is purged (docs/operations.md "Retention").
    """
    since = timezone.now() - timedelta(days=settings.REPLAY_DAYS)
    return Game.objects.filter(status__in=REPLAYABLE, watchable=True, updated__gte=since)


def games_finished(*, player: str = "") -> QuerySet[Game]:
    """Return the replayable games, newest first; `player` keeps those with a seat of that name (any case)."""
    games = games_replayable().order_by("-updated", "-id")
    if player:
        games = games.filter(Q(room__players__name__icontains=player) | Q(seats__icontains=player)).distinct()
    return games


def game_summary(game: Game) -> dict:
    """Return a finished game as the list shows it: players, winner, turns, length."""
    outcome = game.state.get("outcome")
    names = [record["name"] for record in game.seats]
    return {"game_id": game.pk, "room": game.room_name, "players": names,
            "winner": names[outcome["winner"]] if outcome else None, "turns": game.state.get("turn_count", 0),
            "status": game.status, "ended": game.updated, "minutes": round((game.updated - game.created).total_seconds() / 60)}


def game_events(game: Game) -> list[dict]:
    """Return every public event of a game, in order (the log, begin included)."""
    return [event for row in GameLog.objects.filter(game=game).order_by("version") for event in row.events]


def game_replay(game: Game) -> dict:
    """Return a game's replay (events.json): {"game_id", "players", "start", "events", "outcome"}.

    `start` is the log's `begin` event (null for games from before beginnings were logged);
    `events` are the public events after it.
    """
    events = game_events(game)
    start = events[0] if events and events[0]["event"] == "begin" else None
    players = start["players"] if start else [
        {"seat": seat, "name": record["name"], "is_computer": record["is_computer"]}
        for seat, record in enumerate(game.seats)]
    return {"game_id": game.pk, "players": players, "start": start, "events": events[1:] if start else events,
            "outcome": game.state.get("outcome")}
