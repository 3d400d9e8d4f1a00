"""Seating's reads and writes, in SQL written here rather than built by the ORM.

Every table of players passes through them between two games: the joins, each seat's HELLO
and socket opening (the last one deals), the waiting room's roommates, and the sockets
closing after GAME_OVER. Built by the ORM's query compiler, each of these queries cost the
ORM thread several times what the database took to run it, and seating a table cost more
than playing its game (bench/README.md, fifteenth and sixteenth sessions), as the move
path's queries had (game/store.py).

These only run statements; the services (rooms/services.py, game/services.py) own the
transactions and the rules. The SQL is the same on PostgreSQL and SQLite (3.35 or later, for
RETURNING) but for the row locks, which SQLite does not need: its transactions take the
whole database.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import NamedTuple

from django.db import connection
from django.db.models import Model

from lobby_site.rows import datetime_param, insert_sql, new_row
from rooms.models import Connection, Deadline, Player, Room, RoomDraft


class SeatPresence(NamedTuple):
    """A seat as presence settles it: its player row and its room's status."""

    pk: int
    seat: int
    connected: bool
    is_computer: bool
    room_id: int
    room_status: str


class RoomSeat(NamedTuple):
    """A taken seat of a room, as joining and the roommates list read it."""

    pk: int
    seat: int
    name: str
    name_key: str
    is_computer: bool
    connected: bool
    level: str


# The room columns seating reads. Moments are left out (read without the ORM, SQLite's would
# come back naive), but for `reserved_until`, which is only compared with None.
_ROOM_COLUMNS = ("id", "name", "num_of_players", "status", "watchable", "spectators", "spectators_shown", "address",
                 "reserved_until")
_PLAYER_COLUMNS = ("id", "room_id", "seat", "name", "name_key", "is_computer", "level", "connected")


@functools.cache  # PostgreSQL and SQLite quote names alike
def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _marks(values) -> str:
    return ", ".join(["%s"] * len(values))


def _for_update() -> str:
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def _run(sql: str, params: list, *, rows: bool = True) -> list[tuple]:
    """Run one statement; return its rows when `rows` (a statement without them says rows=False)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if rows else []


def connections_insert(opened: list[tuple[str, int]], *, process: str, now: datetime) -> None:
    """Insert a Connection row for each (channel_name, player_id); a channel already recorded is left as it is."""
    params = []
    for channel_name, player_id in opened:
        params += [channel_name, Connection.Kind.GAME, player_id, process, datetime_param(connection.vendor, now)]
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(opened))
    _run(f"INSERT INTO {_table(Connection)} (channel_name, kind, player_id, process, opened) VALUES {values} "
         f"ON CONFLICT DO NOTHING", params, rows=False)


def connections_delete(channel_names: list[str]) -> set[int]:
    """Delete the Connection rows of `channel_names`; return their players' ids."""
    rows = _run(f"DELETE FROM {_table(Connection)} WHERE channel_name IN ({_marks(channel_names)}) "
                f"RETURNING player_id", list(channel_names))
    return {player_id for (player_id,) in rows}


def drafts_open_of(channel_names: list[str]) -> list[int]:
    """Return the ids of the open drafts that `channel_names` began, their rows locked."""
    rows = _run(f"SELECT id FROM {_table(RoomDraft)} WHERE status = %s AND creator_channel IN "
                f"({_marks(channel_names)}) ORDER BY id{_for_update()}", [RoomDraft.Status.OPEN, *channel_names])
    return [draft_id for (draft_id,) in rows]


def seats_locked(player_ids: list[int]) -> list[SeatPresence]:
    """Return the seats of `player_ids` with their rooms' status, locking the players' and the rooms' rows.

    Locked in the players' id order, so two transactions settling the same seats queue
    instead of deadlocking. The room rows are locked too, so every settle of a room's seats
    sees the ones committed before it (`rooms_complete`), as `room_join` does.
    """
    ids = sorted(player_ids)
    rows = _run(f"SELECT p.id, p.seat, p.connected, p.is_computer, p.room_id, r.status "
                f"FROM {_table(Player)} p JOIN {_table(Room)} r ON r.id = p.room_id "
                f"WHERE p.id IN ({_marks(ids)}) ORDER BY p.id{_for_update()}", ids)
    return [SeatPresence(pk, seat, bool(connected), bool(is_computer), room_id, status)
            for pk, seat, connected, is_computer, room_id, status in rows]


def connections_of(player_ids: list[int]) -> list[tuple]:
    """Return the live connections of `player_ids`: (player_id, channel_name, opened, id)."""
    ids = list(player_ids)
    return _run(f"SELECT player_id, channel_name, opened, id FROM {_table(Connection)} "
                f"WHERE player_id IN ({_marks(ids)})", ids)


def players_connected_set(player_ids: list[int], connected: bool) -> None:
    _run(f"UPDATE {_table(Player)} SET connected = %s WHERE id IN ({_marks(player_ids)})",
         [connected, *player_ids], rows=False)


def deadlines_unclaimed_delete(kind: str, player_ids: list[int]) -> None:
    """Delete the players' deadlines of `kind` that no clock has claimed yet."""
    _run(f"DELETE FROM {_table(Deadline)} WHERE kind = %s AND claimed_at IS NULL "
         f"AND player_id IN ({_marks(player_ids)})", [kind, *player_ids], rows=False)


def rooms_complete(room_ids: set[int]) -> set[int]:
    """Return which of the waiting rooms `room_ids` have every seat taken and every person connected."""
    ids = sorted(room_ids)
    if not ids:
        return set()
    rows = _run(f"SELECT r.id FROM {_table(Room)} r WHERE r.id IN ({_marks(ids)}) AND r.status = %s "
                f"AND r.num_of_players = (SELECT count(*) FROM {_table(Player)} p "
                f"WHERE p.room_id = r.id AND (p.connected OR p.is_computer))", [*ids, Room.Status.WAITING])
    return {room_id for (room_id,) in rows}


def room_read(room_id: int, *, lock: bool = False) -> Room | None:
    """Return the room with the columns seating reads (the others deferred), locked with `lock`.

    `reserved_until` says only whether a rematch keeps the room's seats (a moment is not
    converted here): compare it with None.
    """
    rows = _run(f"SELECT {', '.join(_ROOM_COLUMNS)} FROM {_table(Room)} WHERE id = %s"
                f"{_for_update() if lock else ''}", [room_id])
    return Room.from_db(connection.alias, _ROOM_COLUMNS, list(rows[0])) if rows else None


def room_seats(room_id: int) -> list[RoomSeat]:
    """Return the room's taken seats in seat order."""
    rows = _run(f"SELECT id, seat, name, name_key, is_computer, connected, level FROM {_table(Player)} "
                f"WHERE room_id = %s ORDER BY seat", [room_id])
    return [RoomSeat(pk, seat, name, key, bool(is_computer), bool(connected), level)
            for pk, seat, name, key, is_computer, connected, level in rows]


def room_touch(room_id: int, now: datetime) -> None:
    """Stamp the room's `updated` (the ORM's auto_now, for a change that wrote only its seats)."""
    _run(f"UPDATE {_table(Room)} SET updated = %s WHERE id = %s", [datetime_param(connection.vendor, now), room_id],
         rows=False)


def seat_by_token(room_id: int, token_hash: str) -> Player | None:
    """Return the seat of room `room_id` that the token hashed as `token_hash` opens, with its room read."""
    columns = ", ".join([*(f"p.{c}" for c in _PLAYER_COLUMNS), *(f"r.{c}" for c in _ROOM_COLUMNS)])
    rows = _run(f"SELECT {columns} FROM {_table(Player)} p JOIN {_table(Room)} r ON r.id = p.room_id "
                f"WHERE p.room_id = %s AND p.token_hash = %s", [room_id, token_hash])
    if not rows:
        return None
    row = list(rows[0])
    player = Player.from_db(connection.alias, _PLAYER_COLUMNS, row[:len(_PLAYER_COLUMNS)])
    player.room = Room.from_db(connection.alias, _ROOM_COLUMNS, row[len(_PLAYER_COLUMNS):])
    return player


def row_insert(row: Model) -> int:
    """Insert a new model instance's row (every concrete field but the id); return its id.

    The ORM's `create` for the rows every seat adds (its player row, its grace deadline):
    building the INSERT cost more than running it. No signals are sent (these models have
    none); fields are prepared as a save prepares them (`lobby_site.rows.new_row`).
    """
    model, columns, params = new_row(row)
    (row.pk,), = _run(insert_sql(model, columns, returning_id=True), params)
    row._state.adding = False
    row._state.db = connection.alias
    return row.pk
