"""Every change to rooms, seats, drafts, connections and deadlines: one transaction each.

Services take keyword arguments, raise `ProtocolError` with PROTOCOL.md's codes when a
request cannot be granted (changing nothing), and send group messages only after commit.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from lobby_site.names import name_key
from lobby_site.wire import ErrorCode, ProtocolError
from rooms.models import Connection, Deadline, Player, Room, RoomDraft
from rooms.notify import LOBBY_GROUP, room_group, send_on_commit

logger = logging.getLogger(__name__)

HEARTBEAT_FRESH = timedelta(seconds=30)  # the default of settings.HEARTBEAT_STALE
PROCESS_NAME = f"{socket.gethostname()}:{os.getpid()}"
DRAFT_TIMEOUT_KIND = "draft_timeout"
SEAT_GRACE_KIND = "seat_grace"
FIRED_KEPT = timedelta(days=1)  # fired deadline rows are kept this long, for the admin and the tests


def token_hash(token: str) -> str:
    """Return the stored form of a player's secret token (only the hash is kept)."""
    return hashlib.sha256(token.encode()).hexdigest()


def draft_group(draft_id: int) -> str:
    """Return the group of a draft's creator and waiters."""
    return f"draft.{draft_id}"


def _seconds_from_now(seconds: float) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)


def _stale_before() -> datetime:
    return timezone.now() - timedelta(seconds=settings.HEARTBEAT_STALE)


# --- Reads ----------------------------------------------------------------------------------


def room_data(room: Room, players: list[Player] | None = None) -> dict:
    """Return a room as PROTOCOL.md's lobby sends it."""
    if players is None:
        players = list(room.players.order_by("seat"))
    return {"room_id": room.pk, "name": room.name, "num_of_players": room.num_of_players,
            "seated": len(players), "needed": room.num_of_players - len(players),
            "status": room.status, "players": [p.name for p in players]}


def player_data(player: Player, token: str | None = None) -> dict:
    """Return a seat as PROTOCOL.md sends it; the token only to its own player, once."""
    data = {"player_id": player.pk, "name": player.name, "seat": player.seat}
    if token is not None:
        data["token"] = token
    return data


def draft_data(draft: RoomDraft) -> dict:
    """Return a draft as PROTOCOL.md sends it: its id and since when (ISO 8601, UTC)."""
    since = draft.since.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"draft_id": draft.pk, "since": since}


def rooms_open() -> list[dict]:
    """Return the open rooms: waiting, with a free seat."""
    rooms = Room.objects.filter(status=Room.Status.WAITING).prefetch_related("players")
    listed = []
    for room in rooms:
        players = sorted(room.players.all(), key=lambda p: p.seat)
        if len(players) < room.num_of_players:
            listed.append(room_data(room, players))
    return listed


def drafts_open() -> list[dict]:
    """Return the open drafts, oldest first."""
    return [draft_data(d) for d in RoomDraft.objects.filter(status=RoomDraft.Status.OPEN)]


def lobby_listing() -> dict:
    """Return what `GET_ROOMS_REP` and `ROOMS_CHANGED` carry: open rooms and open drafts."""
    return {"rooms": rooms_open(), "drafts": drafts_open()}


def player_by_token(*, room_id: int, token: str) -> Player | None:
    """Return the person whose secret `token` opens a seat of room `room_id`, if any."""
    return (Player.objects.select_related("room")
            .filter(room_id=room_id, token_hash=token_hash(token), is_computer=False).first())


def player_is_connected(*, player_id: int) -> bool:
    """A seat is connected while any of its connections has a fresh heartbeat."""
    return Connection.objects.filter(player_id=player_id, last_seen__gte=_stale_before()).exists()


# --- Notifications (sent after commit) ------------------------------------------------------


def _notify_lobby() -> None:
    send_on_commit(LOBBY_GROUP, {"type": "rooms.changed"})


def _notify_roommates(room_id: int) -> None:
    send_on_commit(room_group(room_id), {"type": "roommates.changed"})


# --- Rooms and seats ------------------------------------------------------------------------


def _seat_person(room: Room, seat: int, name: str) -> tuple[Player, str]:
    token = secrets.token_urlsafe(24)
    player = Player.objects.create(room=room, seat=seat, name=name, name_key=name_key(name),
                                   token_hash=token_hash(token))
    # PROTOCOL.md "Absence": the grace is counted from the join until a game connection opens.
    _grace_start(player, since=timezone.now())
    return player, token


def _seat_computer(room: Room, seat: int, name: str) -> Player:
    return Player.objects.create(room=room, seat=seat, name=name, name_key=name_key(name), is_computer=True)


def computer_name_free(taken_keys: set[str]) -> str:
    """Return the lowest "Computer k" whose name key is not in `taken_keys`."""
    return _computer_names(1, taken_keys)[0]


def _computer_names(count: int, taken_keys: set[str]) -> list[str]:
    names, k = [], 1
    while len(names) < count:
        name = f"Computer {k}"
        # Casefolded names count too: game/services.py still passes those (until it uses name_key).
        if name_key(name) not in taken_keys and name.casefold() not in taken_keys:
            names.append(name)
        k += 1
    return names


def room_create(*, room_name: str, num_of_players: int, user_name: str, computers: int = 0,
                draft_id: int | None = None, channel_name: str | None = None) -> tuple[dict, dict]:
    """Create a room with its creator in seat 0 and `computers` computers in seats 1…k.

    Resolves the draft `draft_id` (which must be an open draft of this connection,
    `channel_name`) and any other open draft of the connection: their waiters get
    `DRAFT_RESOLVED`. Locks those draft rows. Names are validated by lobby_site.wire; here
    they must not clash with the computers'.
    """
    computer_names = _computer_names(computers, set())
    if name_key(user_name) in {name_key(n) for n in computer_names}:
        raise ProtocolError(ErrorCode.NAME_TAKEN, "user_name")
    with transaction.atomic():
        drafts = []
        if draft_id is not None:
            named = (RoomDraft.objects.select_for_update()
                     .filter(pk=draft_id, status=RoomDraft.Status.OPEN, creator_channel=channel_name or "-").first())
            if named is None:
                raise ProtocolError(ErrorCode.INVALID, "draft_id", "not an open draft of this connection")
        if channel_name:
            drafts = list(RoomDraft.objects.select_for_update()
                          .filter(status=RoomDraft.Status.OPEN, creator_channel=channel_name))
        room = Room.objects.create(name=room_name, num_of_players=num_of_players)
        player, token = _seat_person(room, 0, user_name)
        for seat, name in enumerate(computer_names, start=1):
            _seat_computer(room, seat, name)
        data = room_data(room)
        for draft in drafts:
            _draft_end(draft, RoomDraft.Status.RESOLVED, room=room, room_info=data)
        _notify_lobby()
        return data, player_data(player, token)


def room_join(*, room_id: int, user_name: str) -> tuple[dict, dict]:
    """Seat `user_name` in the lowest free seat of an open room.

    Locks the room row (SELECT … FOR UPDATE), so of several people asking for the last
    seat at once exactly one gets it and the others get ROOM_FULL.
    """
    with transaction.atomic():
        room = Room.objects.select_for_update().filter(pk=room_id).first()
        if room is None or room.status == Room.Status.CLOSED:
            raise ProtocolError(ErrorCode.ROOM_NOT_FOUND, "room_id")
        players = list(room.players.order_by("seat"))
        if room.status != Room.Status.WAITING or len(players) >= room.num_of_players:
            raise ProtocolError(ErrorCode.ROOM_FULL, "room_id")
        if name_key(user_name) in {p.name_key for p in players}:
            raise ProtocolError(ErrorCode.NAME_TAKEN, "user_name")
        taken = {p.seat for p in players}
        seat = min(s for s in range(room.num_of_players) if s not in taken)
        try:
            with transaction.atomic():  # the unique constraints back the lock up
                player, token = _seat_person(room, seat, user_name)
        except IntegrityError:
            raise ProtocolError(ErrorCode.ROOM_FULL, "room_id") from None
        room.save(update_fields=["updated"])
        _notify_lobby()
        _notify_roommates(room.pk)
        return room_data(room, sorted([*players, player], key=lambda p: p.seat)), player_data(player, token)


def _room_close(room: Room) -> None:
    room.status = Room.Status.CLOSED
    room.save(update_fields=["status", "updated"])
    Deadline.objects.filter(room=room, claimed_at__isnull=True).delete()
    Deadline.objects.filter(player__room=room, claimed_at__isnull=True).delete()
    _notify_lobby()
    _notify_roommates(room.pk)


def _seat_free(room: Room, player: Player) -> None:
    """Free a seat of a waiting room (seats are never renumbered); close it if no human is left."""
    player.delete()
    room.save(update_fields=["updated"])
    _notify_lobby()
    _notify_roommates(room.pk)
    if not room.players.filter(is_computer=False).exists():
        _room_close(room)


def seat_free(*, player_id: int) -> bool:
    """Free `player_id`'s seat in a room still waiting for its game; return whether it was freed.

    Closes the room when no human is left in it. Locks the room row.
    """
    with transaction.atomic():
        player = Player.objects.filter(pk=player_id).first()
        if player is None:
            return False
        room = Room.objects.select_for_update().get(pk=player.room_id)
        if room.status != Room.Status.WAITING:
            return False
        _seat_free(room, player)
        return True


def seat_free_if_away(*, player_id: int) -> bool:
    """Free `player_id`'s seat if its room is still waiting and it has no live connection.

    The `seat_grace` deadline's action (PROTOCOL.md "Absence"). Locks the room row.
    """
    with transaction.atomic():
        player = Player.objects.filter(pk=player_id, is_computer=False).first()
        if player is None:
            return False
        room = Room.objects.select_for_update().get(pk=player.room_id)
        if room.status != Room.Status.WAITING or player_is_connected(player_id=player.pk):
            return False
        _seat_free(room, player)
        return True


def room_close(*, room_id: int) -> bool:
    """Close a room (the admin's action): it leaves the lobby and its deadlines are dropped.

    Return whether it was open before. Locks the room row.
    """
    with transaction.atomic():
        room = Room.objects.select_for_update().filter(pk=room_id).first()
        if room is None or room.status == Room.Status.CLOSED:
            return False
        _room_close(room)
        return True


def room_fill_with_computers(*, room_id: int) -> int:
    """Seat computers in every free seat of a waiting room; return how many were seated.

    Names are the lowest free "Computer k". Locks the room row.
    """
    with transaction.atomic():
        room = Room.objects.select_for_update().filter(pk=room_id).first()
        if room is None or room.status != Room.Status.WAITING:
            return 0
        players = list(room.players.all())
        free = sorted(set(range(room.num_of_players)) - {p.seat for p in players})
        names = _computer_names(len(free), {p.name_key for p in players})
        for seat, name in zip(free, names, strict=True):
            _seat_computer(room, seat, name)
        if free:
            room.save(update_fields=["updated"])
            _notify_lobby()
            _notify_roommates(room.pk)
        return len(free)


# --- Drafts (PROTOCOL.md "Drafts", Scenario A) ---------------------------------------------


def _draft_end(draft: RoomDraft, status: str, *, room: Room | None = None, room_info: dict | None = None) -> None:
    """End an open draft (its row locked by the caller) and tell its creator and waiters."""
    draft.status = status
    draft.ended = timezone.now()
    draft.room = room
    draft.save(update_fields=["status", "ended", "room"])
    deadline_cancel(kind=DRAFT_TIMEOUT_KIND, draft_id=draft.pk)
    _notify_lobby()
    if status == RoomDraft.Status.RESOLVED:
        event = {"type": "draft.resolved", "draft_id": draft.pk, "room": room_info}
    else:
        event = {"type": "draft.cancelled", "draft_id": draft.pk}
    send_on_commit(draft_group(draft.pk), event)


def draft_start(*, channel_name: str) -> dict:
    """Open a draft for the lobby connection `channel_name`, or return the one it has open.

    Schedules its DRAFT_TIMEOUT deadline. Takes no lock: a connection's frames are
    handled one after another.
    """
    with transaction.atomic():
        draft = RoomDraft.objects.filter(status=RoomDraft.Status.OPEN, creator_channel=channel_name).first()
        if draft is None:
            draft = RoomDraft.objects.create(creator_channel=channel_name)
            deadline_schedule(kind=DRAFT_TIMEOUT_KIND, due_at=_seconds_from_now(settings.DRAFT_TIMEOUT),
                              draft_id=draft.pk)
            _notify_lobby()
        return draft_data(draft)


def draft_cancel(*, draft_id: int, channel_name: str) -> dict:
    """Cancel an open draft of the connection `channel_name`. Locks the draft row."""
    with transaction.atomic():
        draft = (RoomDraft.objects.select_for_update()
                 .filter(pk=draft_id, status=RoomDraft.Status.OPEN, creator_channel=channel_name).first())
        if draft is None:
            raise ProtocolError(ErrorCode.INVALID, "draft_id", "not an open draft of this connection")
        _draft_end(draft, RoomDraft.Status.CANCELLED)
        return draft_data(draft)


def draft_expire(*, draft_id: int) -> bool:
    """Cancel a draft that is still open (the DRAFT_TIMEOUT deadline). Locks the draft row."""
    with transaction.atomic():
        draft = RoomDraft.objects.select_for_update().filter(pk=draft_id, status=RoomDraft.Status.OPEN).first()
        if draft is None:
            return False
        _draft_end(draft, RoomDraft.Status.CANCELLED)
        return True


def draft_wait(*, draft_id: int) -> dict:
    """Return a draft's state for a waiter: `{"draft_id", "status", "room"}`.

    The consumer joins the draft's group before asking, so an ending that commits after
    this read still reaches it. Reads only.
    """
    draft = RoomDraft.objects.select_related("room").filter(pk=draft_id).first()
    if draft is None:
        raise ProtocolError(ErrorCode.INVALID, "draft_id", "no such draft")
    room = room_data(draft.room) if draft.room is not None else None
    return {"draft_id": draft.pk, "status": draft.status, "room": room}


def _drafts_end_of_channel(channel_name: str) -> None:
    for draft in RoomDraft.objects.select_for_update().filter(status=RoomDraft.Status.OPEN,
                                                              creator_channel=channel_name):
        _draft_end(draft, RoomDraft.Status.CANCELLED)


# --- Presence (DESIGN.md "Presence") ---------------------------------------------------

SeatGoneHook = Callable[[Player], None]
_seat_gone_hooks: list[SeatGoneHook] = []


def on_seat_gone(hook: SeatGoneHook) -> SeatGoneHook:
    """Register `hook(player)` to run when the sweep finds a seat's last connection dead.

    The game app registers one to tell a running game's seats (`disconnected`); the rooms
    app cannot import the game's services without a cycle. Hooks run inside the sweep's
    transaction.
    """
    if hook not in _seat_gone_hooks:
        _seat_gone_hooks.append(hook)
    return hook



def _grace_start(player: Player, *, since: datetime) -> None:
    deadline_cancel(kind=SEAT_GRACE_KIND, player_id=player.pk)
    deadline_schedule(kind=SEAT_GRACE_KIND, due_at=since + timedelta(seconds=settings.DISCONNECT_GRACE),
                      room_id=player.room_id, player_id=player.pk)


def _connection_gone(connection: Connection, *, ended: datetime) -> Player | None:
    """Apply the end of a connection (its row already deleted); return its seat if now away."""
    _drafts_end_of_channel(connection.channel_name)
    player = connection.player
    if player is None or player_is_connected(player_id=player.pk):
        return None
    Player.objects.filter(pk=player.pk).update(connected=False)
    if Room.objects.filter(pk=player.room_id, status=Room.Status.WAITING).exists():
        _grace_start(player, since=ended)
        _notify_roommates(player.room_id)
    return player


def connection_open(*, channel_name: str, kind: str, player_id: int | None = None) -> None:
    """Record a live connection with a fresh heartbeat; a seat's disconnect grace stops."""
    with transaction.atomic():
        Connection.objects.update_or_create(
            channel_name=channel_name,
            defaults={"kind": kind, "player_id": player_id, "last_seen": timezone.now()})
        if player_id is not None:
            Player.objects.filter(pk=player_id).update(connected=True)
            deadline_cancel(kind=SEAT_GRACE_KIND, player_id=player_id)


def connection_beat(*, channel_name: str) -> None:
    """Refresh a connection's heartbeat."""
    Connection.objects.filter(channel_name=channel_name).update(last_seen=timezone.now())


def connection_close(*, channel_name: str) -> Player | None:
    """Forget a connection; return its player if that seat has no live connection left.

    Cancels the drafts the connection opened; a waiting-room seat left with no connection
    starts its DISCONNECT_GRACE. Locks the connection's drafts.
    """
    with transaction.atomic():
        connection = Connection.objects.select_related("player").filter(channel_name=channel_name).first()
        if connection is None:
            _drafts_end_of_channel(channel_name)
            return None
        connection.delete()
        return _connection_gone(connection, ended=timezone.now())


def connections_sweep() -> int:
    """Treat connections silent for HEARTBEAT_STALE seconds as gone; return how many.

    Their process died without running disconnect handlers (DESIGN.md "Presence"). Each
    row is removed with a conditional DELETE, so of several sweeping processes one acts.
    """
    swept = 0
    for pk in Connection.objects.filter(last_seen__lt=_stale_before()).values_list("pk", flat=True)[:200]:
        with transaction.atomic():
            connection = Connection.objects.select_related("player").filter(pk=pk).first()
            if connection is None:
                continue
            deleted, _ = Connection.objects.filter(pk=pk, last_seen__lt=_stale_before()).delete()
            if deleted:
                player = _connection_gone(connection, ended=connection.last_seen)
                if player is not None and connection.kind == Connection.Kind.GAME:
                    for hook in _seat_gone_hooks:
                        hook(player)
                swept += 1
    return swept


# --- Deadlines (DESIGN.md "Time") ------------------------------------------------------------


def deadline_schedule(*, kind: str, due_at: datetime, room_id: int | None = None, player_id: int | None = None,
                      draft_id: int | None = None, data: dict | None = None) -> int:
    """Add a deadline that one process's clock fires once at `due_at`; return its id.

    Call it inside the transaction of the change it belongs to. Takes no lock.
    """
    return Deadline.objects.create(kind=kind, due_at=due_at, room_id=room_id, player_id=player_id,
                                   draft_id=draft_id, data=data or {}).pk


def deadline_cancel(*, kind: str, room_id: int | None = None, player_id: int | None = None,
                    draft_id: int | None = None) -> int:
    """Delete the unfired deadlines of `kind` for a room, player or draft; return how many."""
    owners = {"room_id": room_id, "player_id": player_id, "draft_id": draft_id}
    owners = {key: value for key, value in owners.items() if value is not None}
    deleted, _ = Deadline.objects.filter(kind=kind, claimed_at__isnull=True, **owners).delete()
    return deleted


def deadlines_due(*, limit: int = 100) -> list[int]:
    """Return the ids of unclaimed deadlines that are due, earliest first."""
    return list(Deadline.objects.filter(claimed_at__isnull=True, due_at__lte=timezone.now())
                .order_by("due_at", "id").values_list("pk", flat=True)[:limit])


def deadline_fire(*, deadline_id: int, handler_for: Callable[[str], Callable | None]) -> bool:
    """Claim a due deadline and run its handler; return whether this process fired it.

    The claim is a conditional UPDATE … WHERE claimed_at IS NULL: of several processes
    exactly one updates the row. The handler runs in the same transaction, so if this
    process dies before committing, the claim rolls back and another process fires it.
    A handler that fails is logged and its changes rolled back; the claim stays.
    """
    with transaction.atomic():
        claimed = (Deadline.objects.filter(pk=deadline_id, claimed_at__isnull=True)
                   .update(claimed_at=timezone.now(), fired_by=PROCESS_NAME, fired_count=F("fired_count") + 1))
        if not claimed:
            return False
        deadline = Deadline.objects.get(pk=deadline_id)
        handler = handler_for(deadline.kind)
        if handler is None:
            logger.warning("deadline %s: no handler for kind %r", deadline.pk, deadline.kind)
            return True
        try:
            with transaction.atomic():
                handler(deadline)
        except Exception:
            logger.exception("deadline %s (%s) failed", deadline.pk, deadline.kind)
        return True


def deadlines_prune() -> int:
    """Delete fired deadlines older than a day; return how many."""
    deleted, _ = Deadline.objects.filter(claimed_at__lt=timezone.now() - FIRED_KEPT).delete()
    return deleted
