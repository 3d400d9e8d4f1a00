"""Every change to rooms, seats and connections: one transaction each.

Services take keyword arguments, raise `ProtocolError` with PROTOCOL.md's codes when a
request cannot be granted (changing nothing), and send group messages only after commit.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from game.protocol import ErrorCode, ProtocolError
from rooms.models import Connection, Player, Room
from rooms.notify import LOBBY_GROUP, room_group, send_on_commit

HEARTBEAT_FRESH = timedelta(seconds=30)  # DESIGN.md "Presence"


def token_hash(token: str) -> str:
    """Return the stored form of a player's secret token (only the hash is kept)."""
    return hashlib.sha256(token.encode()).hexdigest()


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


def rooms_open() -> list[dict]:
    """Return the open rooms: waiting, with a free seat."""
    rooms = Room.objects.filter(status=Room.Status.WAITING).prefetch_related("players")
    listed = []
    for room in rooms:
        players = sorted(room.players.all(), key=lambda p: p.seat)
        if len(players) < room.num_of_players:
            listed.append(room_data(room, players))
    return listed


def _notify_lobby() -> None:
    send_on_commit(LOBBY_GROUP, {"type": "rooms.changed"})


def _notify_roommates(room_id: int) -> None:
    send_on_commit(room_group(room_id), {"type": "roommates.changed"})


def _seat_person(room: Room, seat: int, name: str) -> tuple[Player, str]:
    token = secrets.token_urlsafe(24)
    player = Player.objects.create(room=room, seat=seat, name=name, name_key=name.casefold(),
                                   token_hash=token_hash(token))
    return player, token


def room_create(*, room_name: str, num_of_players: int, user_name: str, computers: int = 0) -> tuple[dict, dict]:
    """Create a room with its creator in seat 0 and `computers` computers in seats 1…k.

    Names are validated by game.protocol; here they must not clash with the computers'.
    """
    computer_names = [f"Computer {k}" for k in range(1, computers + 1)]
    if user_name.casefold() in {n.casefold() for n in computer_names}:
        raise ProtocolError(ErrorCode.NAME_TAKEN, "user_name")
    with transaction.atomic():
        room = Room.objects.create(name=room_name, num_of_players=num_of_players)
        player, token = _seat_person(room, 0, user_name)
        for seat, name in enumerate(computer_names, start=1):
            Player.objects.create(room=room, seat=seat, name=name, name_key=name.casefold(), is_computer=True)
        _notify_lobby()
        return room_data(room), player_data(player, token)


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
        if user_name.casefold() in {p.name_key for p in players}:
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
        return room_data(room, [*players, player]), player_data(player, token)


def player_by_token(*, room_id: int, token: str) -> Player | None:
    """Return the person whose secret `token` opens a seat of room `room_id`, if any."""
    return (Player.objects.select_related("room")
            .filter(room_id=room_id, token_hash=token_hash(token), is_computer=False).first())


# --- Presence (DESIGN.md "Presence") ---------------------------------------------------


def connection_open(*, channel_name: str, kind: str, player_id: int | None = None) -> None:
    """Record a live connection with a fresh heartbeat."""
    with transaction.atomic():
        Connection.objects.update_or_create(
            channel_name=channel_name,
            defaults={"kind": kind, "player_id": player_id, "last_seen": timezone.now()})
        if player_id is not None:
            Player.objects.filter(pk=player_id).update(connected=True)


def connection_beat(*, channel_name: str) -> None:
    """Refresh a connection's heartbeat."""
    Connection.objects.filter(channel_name=channel_name).update(last_seen=timezone.now())


def connection_close(*, channel_name: str) -> Player | None:
    """Forget a connection; return its player if that seat has no live connection left."""
    with transaction.atomic():
        connection = Connection.objects.select_related("player").filter(channel_name=channel_name).first()
        if connection is None:
            return None
        connection.delete()
        player = connection.player
        if player is not None and not player_is_connected(player_id=player.pk):
            Player.objects.filter(pk=player.pk).update(connected=False)
            return player
        return None


def player_is_connected(*, player_id: int) -> bool:
    """A seat is connected while any of its connections has a fresh heartbeat."""
    fresh = timezone.now() - HEARTBEAT_FRESH
    return Connection.objects.filter(player_id=player_id, last_seen__gte=fresh).exists()
