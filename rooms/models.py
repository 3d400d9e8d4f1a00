"""The lobby's tables: rooms, their seats, rooms being created, and the time machinery
(deadlines and connection heartbeats) that later parts of the game reuse."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Room(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting"
        PLAYING = "playing"
        PAUSED = "paused"
        FINISHED = "finished"
        CLOSED = "closed"

    name = models.CharField(max_length=40)
    num_of_players = models.PositiveSmallIntegerField(validators=[MinValueValidator(2), MaxValueValidator(8)])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING, db_index=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # Spectators (docs/protocol.md "Spectators"): whether the watch socket opens, how many watch
    # now (kept by the watch connections, never by a move), and the count the players were last
    # told with a `spectators` event, and when (at most one such event every 10 s).
    watchable = models.BooleanField(default=True)
    spectators = models.IntegerField(default=0)
    spectators_shown = models.IntegerField(default=0)
    spectators_told = models.DateTimeField(null=True, blank=True)
    # The client address that created it (lobby_site.security.client_address): ROOMS_PER_ADDRESS
    # counts the open rooms of an address (docs/protocol.md "Limits per address"); "" if unknown.
    address = models.CharField(max_length=45, blank=True, default="", db_index=True)
    # A rematch (docs/protocol.md "Rematch"): the finished room this one replays, who asked for
    # it, and until when its free seats are kept for the old game's people (null: open to all).
    rematch_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="rematch")
    rematch_from = models.CharField(max_length=24, blank=True)
    reserved_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self):
        return f"{self.name} (#{self.pk}, {self.status})"


class Player(models.Model):
    """A seat of a room: a person (with a secret token, stored hashed) or a computer."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="players")
    seat = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=24)
    # Names compare case-insensitively and by look (docs/protocol.md "Limits"): the unique
    # key is lobby_site.names.name_key, the casefolded confusable skeleton, which may be
    # longer than the name.
    name_key = models.CharField(max_length=255, editable=False)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    is_computer = models.BooleanField(default=False)
    # A computer's strength (docs/protocol.md "Computer levels"): easy, normal or hard; "" for people.
    level = models.CharField(max_length=6, blank=True, default="")
    # Whether the seat has a live game connection: kept with the Connection rows, in the same transactions.
    connected = models.BooleanField(default=False)
    joined = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["room", "seat"]
        constraints = [
            models.UniqueConstraint(fields=["room", "seat"], name="one_player_per_seat"),
            models.UniqueConstraint(fields=["room", "name_key"], name="unique_name_in_room"),
        ]

    def __str__(self):
        return f"{self.name} (seat {self.seat} of room #{self.room_id})"


class RoomDraft(models.Model):
    """A room someone has begun to create (docs/protocol.md "Drafts")."""

    class Status(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"
        CANCELLED = "cancelled"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    since = models.DateTimeField(auto_now_add=True)
    # The lobby connection that opened it, and that connection's process: the draft ends with it.
    creator_channel = models.CharField(max_length=200, blank=True, db_index=True)
    process = models.CharField(max_length=100, blank=True, db_index=True)
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ended = models.DateTimeField(null=True, blank=True)
    # The creator's client address: DRAFTS_PER_ADDRESS counts the open drafts of an address.
    address = models.CharField(max_length=45, blank=True, default="", db_index=True)

    class Meta:
        ordering = ["since", "id"]


class ServerProcess(models.Model):
    """A server process, alive while it beats its row (docs/architecture.md "Presence").

    Presence costs one write per process per HEARTBEAT_INTERVAL, not one per connection: a
    connection lives while its process beats. A process whose beat is older than
    HEARTBEAT_STALE died without running its disconnect handlers, and the other processes'
    clocks end its connections and drafts.
    """

    name = models.CharField(max_length=100, unique=True)
    started = models.DateTimeField(auto_now_add=True)
    beat = models.DateTimeField(db_index=True)

    def __str__(self):
        return self.name


class Connection(models.Model):
    """A live game connection of a seat, written when it opens and deleted when it ends.

    A seat is connected while it has one (`Player.connected` caches that). The row names
    its process: when that process stops beating, the connection is gone.
    """

    class Kind(models.TextChoices):
        GAME = "game"

    channel_name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.GAME)
    player = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="connections")
    process = models.CharField(max_length=100, db_index=True)
    opened = models.DateTimeField(auto_now_add=True)


class Deadline(models.Model):
    """Something to do at a due time that must outlive any one connection (docs/architecture.md "Time").

    Each process's clock claims due rows with a conditional UPDATE … WHERE claimed_at IS
    NULL, so exactly one process fires each.
    """

    kind = models.CharField(max_length=30)
    due_at = models.DateTimeField(db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.CASCADE, related_name="deadlines")
    player = models.ForeignKey(Player, null=True, blank=True, on_delete=models.CASCADE, related_name="deadlines")
    draft = models.ForeignKey(RoomDraft, null=True, blank=True, on_delete=models.CASCADE, related_name="deadlines")
    data = models.JSONField(default=dict, blank=True)
    # Which process fired it and how often: exactly once is the claim's promise, and the
    # multi-process test reads these to check it.
    fired_by = models.CharField(max_length=100, blank=True)
    fired_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["due_at", "id"]
