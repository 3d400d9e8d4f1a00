"""What is kept and for how long (docs/operations.md "Retention"): `manage.py purge`.

Rooms that ended (finished or closed), ended drafts, saved states and fired deadlines go
after PURGE_AFTER_DAYS (or `--older-than`); finished games, with their log and chat, stay
replayable for REPLAY_DAYS whether or not their room is still there (`Game.room` is set to
null, not cascaded), and then go too.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from game.models import Game, SavedGameState
from rooms.models import Deadline, Room, RoomDraft

GAMES_OVER = (Game.Status.FINISHED, Game.Status.ABANDONED)
ROOMS_ENDED = (Room.Status.FINISHED, Room.Status.CLOSED)
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhm]?)\s*$")
_UNITS = {"d": "days", "": "days", "h": "hours", "m": "minutes"}


def parse_age(text: str) -> timedelta:
    """Return the age `30d`, `12h`, `90m` or `30` (days) as a timedelta; raise ValueError otherwise."""
    match = _AGE.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not an age like 30d, 12h or 90m")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def purge(*, older_than: timedelta, dry_run: bool = False, now: datetime | None = None) -> dict[str, int]:
    """Delete what retention no longer keeps; return how many rows of each kind went (or would go).

    Kinds: `games` (finished or abandoned, or left without a running room, ended more than
    REPLAY_DAYS ago; their log rows, chat lines and saved states go with them, counted too),
    `rooms` (finished or closed, unchanged for `older_than`; their seats, connections and
    deadlines go with them; their games stay), `drafts` (ended), `saved_states`, `deadlines`
    (fired). One transaction; `dry_run` rolls it back, so the counts are exact either way.
    """
    now = now or timezone.now()
    before = now - older_than
    replay_before = now - timedelta(days=settings.REPLAY_DAYS)
    counts: dict[str, int] = {}
    with transaction.atomic():
        gone_games = Game.objects.filter(updated__lt=replay_before).filter(
            Q(status__in=GAMES_OVER) | Q(room__isnull=True) | Q(room__status=Room.Status.CLOSED))
        _count(counts, "games", gone_games.delete(), {"game.GameLog": "log_rows", "game.ChatLine": "chat_lines",
                                                      "game.SavedGameState": "saved_states"})
        _count(counts, "rooms", Room.objects.filter(status__in=ROOMS_ENDED, updated__lt=before).delete(),
               {"rooms.Player": "players", "rooms.Connection": "connections", "rooms.Deadline": "deadlines",
                "game.SavedGameState": "saved_states"})
        _count(counts, "drafts", RoomDraft.objects.exclude(status=RoomDraft.Status.OPEN)
               .filter(ended__lt=before).delete(), {"rooms.Deadline": "deadlines"})
        _count(counts, "saved_states", SavedGameState.objects.filter(created__lt=before).delete(), {})
        _count(counts, "deadlines", Deadline.objects.filter(claimed_at__lt=before).delete(), {})
        if dry_run:
            transaction.set_rollback(True)
    return counts


def _count(counts: dict[str, int], kind: str, deleted: tuple[int, dict[str, int]], cascaded: dict[str, str]) -> None:
    """Add a delete()'s rows to `counts`: the main kind, and the rows that went with it by their kinds."""
    _, by_model = deleted
    for label, number in by_model.items():
        name = cascaded.get(label, kind)
        counts[name] = counts.get(name, 0) + number
    counts.setdefault(kind, 0)


KINDS = ("rooms", "drafts", "saved_states", "deadlines", "games")
