"""The game's tables: the saved state of each room's game, its public event log, and the
states saved when a game is paused or abandoned."""

from django.db import models

from rooms.models import Room


class Game(models.Model):
    """One room's game: the engine state (RNG included) and each seat's message counter,
    all saved in the same transaction as every change."""

    class Status(models.TextChoices):
        PLAYING = "playing"
        PAUSED = "paused"
        FINISHED = "finished"
        ABANDONED = "abandoned"

    room = models.OneToOneField(Room, on_delete=models.CASCADE, related_name="game")
    seed = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLAYING, db_index=True)
    state = models.JSONField()  # game.engine GameState.to_json()
    version = models.PositiveIntegerField(default=0)
    # Per seat: {"msg_id": the seat's last msg_id, "prompt": {"msg_id", "payload"} | None,
    # "past": [msg_ids of its earlier prompts]} (the past ones tell STALE_PROMPT from NOT_YOUR_TURN),
    # and while they apply "away": true, "autoplay": true, "human": {"name"} (a computer took the
    # seat from that player, who may reclaim it) — docs/protocol.md "Leaving and absence".
    seats = models.JSONField(default=list)
    # How many GameEvent rows the game has: the next event's seq, without a query.
    event_count = models.PositiveIntegerField(default=0)
    # While paused (docs/protocol.md "Leaving and absence"): {"leaving": [seats that asked to
    # leave], "vacant": [seats that left], "waiting_for": [humans yet to answer the vote],
    # "saved": the SavedGameState id}; null while playing.
    pause = models.JSONField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Game #{self.pk} of room #{self.room_id} ({self.status}, v{self.version})"


class GameEvent(models.Model):
    """A public event, in order: the game's history as everyone saw it."""

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    version = models.PositiveIntegerField()
    data = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["game", "seq"]
        constraints = [models.UniqueConstraint(fields=["game", "seq"], name="one_event_per_seq")]


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
