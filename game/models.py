"""The game's tables: the saved state of each room's game, its public event log, and the
states saved when a game is paused or abandoned."""

from django.db import models

from rooms.models import Room


class Game(models.Model):
    """One room's game: the engine state (RNG included), who sits where, each seat's message
    counter and pending prompt, all saved in one write with every change (game/store.py)."""

    class Status(models.TextChoices):
        PLAYING = "playing"
        PAUSED = "paused"
        FINISHED = "finished"
        ABANDONED = "abandoned"

    # Null once the room is purged: a finished game stays replayable for REPLAY_DAYS without it
    # (docs/operations.md "Retention").
    room = models.OneToOneField(Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="game")
    # Copied from the room when the game begins, so that the list of games and the replays
    # (public only for watchable rooms) still know them once the room is purged.
    room_name = models.CharField(max_length=40, blank=True, default="")
    watchable = models.BooleanField(default=True)
    seed = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLAYING, db_index=True)
    state = models.JSONField()  # game.engine GameState.to_json()
    # Bumped by every write to this row: a change is saved with UPDATE … WHERE version = the
    # version it read (compare-and-set), so of two concurrent changes one retries.
    version = models.PositiveIntegerField(default=0)
    # Per seat, in seat order: a `game.seats.SeatRecord` (who sits there, the seat's last
    # msg_id, its pending prompt, presence) — kept here so a move reads one row.
    seats = models.JSONField(default=list)
    # How many public events the game has had: the next event's number, without a query.
    event_count = models.PositiveIntegerField(default=0)
    # The last public events (the view's `recent_events`), so a snapshot reads one row.
    recent = models.JSONField(default=list)
    # While paused (docs/protocol.md "Leaving and absence"): {"leaving": [seats that asked to
    # leave], "vacant": [seats that left], "waiting_for": [humans yet to answer the vote],
    # "saved": the SavedGameState id}; null while playing.
    pause = models.JSONField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        room = f"room #{self.room_id}" if self.room_id is not None else "a purged room"
        return f"Game #{self.pk} of {room} ({self.status}, v{self.version})"


class GameLog(models.Model):
    """The public events of one change to a game, in order: a move with the computer turns
    it set off, a chat line, a presence notice. One row per change (per game version), so a
    move writes one log row whatever it sets off; together the rows are the game's history
    as everyone saw it."""

    # No index of its own: the unique (game, version) below leads with the game and serves
    # every lookup by game, and one index fewer is one insert fewer on every move.
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="log", db_index=False)
    version = models.PositiveIntegerField()  # the game's version after this change
    seq = models.PositiveIntegerField()  # the number of the first event (events count from 0)
    events = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["game", "version"]
        constraints = [models.UniqueConstraint(fields=["game", "version"], name="one_log_row_per_version")]


class ChatLine(models.Model):
    """A `chat` event of a game, kept apart from the log: only the last CHAT_KEPT per game stay.

    Chat is a numbered public event like any other (`seq` is its number in the game's public
    event sequence), but it is not part of the game's history: the log, and so the replays,
    hold the game, and a chatty table cannot make its log grow. The row is inserted, and the
    game's older lines beyond CHAT_KEPT deleted, in the change's one write (game/store.py).
    """

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="chat_lines",
                             db_index=False)  # (game, seq) below leads with it, as for the log
    seq = models.PositiveIntegerField()
    seat = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=24)
    text = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["game", "seq"]
        constraints = [models.UniqueConstraint(fields=["game", "seq"], name="one_chat_line_per_event")]

    def event(self) -> dict:
        """Return the line as the `chat` event it was."""
        return {"event": "chat", "seat": self.seat, "name": self.name, "text": self.text}


class SavedGameState(models.Model):
    """A game's whole state saved when it was paused (someone left) or abandoned."""

    class Reason(models.TextChoices):
        LEAVE = "leave"
        ABANDONED = "abandoned"

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="saved_states")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="saved_states")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    created = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField()
    players = models.JSONField()  # [{"seat", "name", "is_computer"}]
    state = models.JSONField()

    class Meta:
        ordering = ["-created", "-id"]
