"""Reading a game and saving a change to it: one read, one write (docs/architecture.md "A move").

A change is saved with a compare-and-set on the game row's version — `UPDATE … WHERE version
= <the version read>` — together with its log row, the deadlines it schedules and the room's
new status. On PostgreSQL that is ONE statement (data-modifying WITH clauses hang every
insert on the UPDATE's success), so a move costs two round trips however many computer turns
it sets off: the read and the write. No row lock is held between them; a change that finds
the version moved on is not saved, and its service reads again and retries.

Other databases (SQLite) get the same writes in one transaction.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from game.models import ChatLine, Game, GameLog
from lobby_site.rows import NewRow, datetime_param, insert_sql, json_bytes, json_param, new_row, prepared
from rooms.models import Deadline, Room

RECENT_EVENTS = 20  # docs/protocol.md "View": recent_events holds the last 20 events
CHAT_SHOWN = 50  # docs/protocol.md "Chat history": the view's `chat` holds at most the last 50 chat events


def recent_kept(events: list[dict]) -> list[dict]:
    """Return what the row's `recent` keeps of `events`: the last 20 (chat included, as the streams had them).

    The chat history lives in its own capped table (`ChatLine`), so the row every move
    rewrites stays small however much the table chats.
    """
    return events[-RECENT_EVENTS:]


def chat_recent(game_id: int) -> list[dict]:
    """Return the view's `chat`: the game's last kept chat lines (at most CHAT_SHOWN), oldest first.

    One query, made by snapshots (RESUME, GAME_STATUS, WATCHING, PLAYER_STATE), never by a move.
    """
    shown = min(CHAT_SHOWN, max(settings.CHAT_KEPT, 0))
    lines = list(ChatLine.objects.filter(game_id=game_id).order_by("-seq")[:shown])
    return [line.event() for line in reversed(lines)]


def _chat_lines(game: Game, events: list[dict], now) -> list[ChatLine]:
    """Return the chat lines of a change's public `events` (numbered from the game's event count)."""
    return [ChatLine(game_id=game.pk, seq=game.event_count + k, seat=event["seat"], name=event["name"],
                     text=event["text"], created=now)
            for k, event in enumerate(events) if event.get("event") == "chat"]


# The columns a change reads and writes. The move path reads and writes them with SQL
# written once (below), not through the ORM's query compiler: building the query cost more
# than running it, on every move.
_COLUMNS = ("id", "room_id", "seed", "status", "state", "version", "seats", "event_count", "recent", "pause")
_JSON = frozenset({"state", "seats", "recent", "pause"})


@functools.cache
def _select_sql_for(vendor: str, lock: bool) -> str:
    """Build the read once per database kind (it is on every move's path)."""
    quote = connection.ops.quote_name
    sql = (f"SELECT {', '.join(quote(c) for c in _COLUMNS)} FROM {quote(Game._meta.db_table)} "
           f"WHERE {quote('room_id')} = %s")
    return sql + " FOR UPDATE" if lock and connection.features.has_select_for_update else sql


def _select_sql(lock: bool) -> str:
    return _select_sql_for(connection.vendor, lock)


def _game_from_row(row) -> Game:
    values = {name: orjson.loads(value) if name in _JSON and isinstance(value, (str, bytes)) else value
              for name, value in zip(_COLUMNS, row)}
    return Game.from_db(connection.alias, _COLUMNS, [values[name] for name in _COLUMNS])


def game_read(room_id: int) -> Game | None:
    """Return the room's game as it stands (no lock), or None before the game."""
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(lock=False), [room_id])
        row = cursor.fetchone()
    return None if row is None else _game_from_row(row)


# The game row as this process's last move wrote it, by room (at most GAME_KEPT_ROOMS, the
# oldest dropped first): the room's next move starts from it instead of reading the row — on
# PostgreSQL a move is then one round trip, its write. The JSON columns are kept as the bytes
# written, not as the objects: between two moves at people's pace (seconds) objects would
# outlive young garbage collections and every older collection would walk them, while bytes
# are not tracked at all; decoding them is what a read does too. (The capacity bench could
# not tell the two apart: bench/README.md.)
# Taking an entry removes it; only a move's save puts one back. It may be behind the row
# (another process moved the game, or another service here did: every save drops the room's
# entry), and that is safe: a change made from it loses the compare-and-set and is made again
# from a read, and a refusal is checked again on a read before it is sent (`game_answer`).
_kept: dict[int, tuple] = {}
_kept_lock = threading.Lock()


def game_take_kept(room_id: int) -> Game | None:
    """Return the game as this process's last move of the room wrote it, if it kept it (and forget it)."""
    with _kept_lock:
        row = _kept.pop(room_id, None)
    return None if row is None else _game_from_row(row)


def game_forget_kept() -> None:
    """Forget every kept game (tests: a rolled-back database hands out a room's id again)."""
    with _kept_lock:
        _kept.clear()


def _keep(game: Game, encoded: dict[str, bytes]) -> None:
    """Keep the row just written for `game`, its JSON columns as `encoded` (or encoded here)."""
    if settings.GAME_KEPT_ROOMS <= 0 or game.status != Game.Status.PLAYING:
        return
    row = []
    for name in _COLUMNS:
        value = game.pk if name == "id" else getattr(game, name)
        if name in _JSON and value is not None:
            value = encoded.get(name) or json_bytes(value)
        row.append(value)
    with _kept_lock:
        _kept[game.room_id] = tuple(row)
        while len(_kept) > settings.GAME_KEPT_ROOMS:
            del _kept[next(iter(_kept))]


def game_read_locked(room_id: int) -> Game | None:
    """Return the room's game with its row locked (SELECT … FOR UPDATE) until the transaction ends.

    For the rare changes that also write other tables (leaving, reclaiming a seat), so a
    concurrent move waits instead of retrying; the save still compares the version.
    """
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("game_read_locked needs a transaction")
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(lock=True), [room_id])
        row = cursor.fetchone()
    return None if row is None else _game_from_row(row)


@dataclass
class Change:
    """What a service does to a game besides its row: the public events to log, the
    deadlines to schedule, the room's new status."""

    events: list[dict] = field(default_factory=list)
    deadlines: list[dict] = field(default_factory=list)  # Deadline fields (kind, due_at, room_id, …)
    room_status: str | None = None


def game_save(game: Game, change: Change, fields: tuple[str, ...], *, keep: bool = False) -> bool:
    """Save `fields` of `game` and `change` if the row still has the version `game` was read at.

    Return whether it was saved; on success `game` holds the new version, event count and
    recent events, and with `keep` (a move) the row written is kept for the room's next move
    (`game_take_kept`). Takes no lock: the UPDATE's WHERE clause is the compare-and-set.
    """
    with _kept_lock:  # whatever this process kept of the room is now behind the row
        _kept.pop(game.room_id, None)
    read_version = game.version
    now = timezone.now()
    new = {"version": read_version + 1, "updated": now}
    if change.events:
        new["event_count"] = game.event_count + len(change.events)
        new["recent"] = recent_kept(game.recent + change.events)
    values = {name: getattr(game, name) for name in fields} | new
    encoded = {name: json_bytes(value) for name, value in values.items() if name in _JSON and value is not None}
    # Chat is numbered like every public event but kept apart from the log (a chat change
    # holds only its chat event, so the log row's numbering stays contiguous).
    chat = _chat_lines(game, change.events, now)
    logged = [event for event in change.events if event.get("event") != "chat"]
    log = _log_row(game.pk, new["version"], game.event_count, logged, now) if logged else None
    deadlines = [new_row(Deadline(**d)) for d in change.deadlines]
    if connection.vendor == "postgresql":
        saved = _save_in_one_statement(game, read_version, values, encoded, log, deadlines, change.room_status, now,
                                       chat)
    else:
        with transaction.atomic():
            saved = _save_in_one_statement(game, read_version, values, encoded, None, [], None, now)
            if saved:
                _save_the_rest(game, log, deadlines, change.room_status, now, chat)
    if saved:
        for name, value in new.items():
            setattr(game, name, value)
        if keep:
            _keep(game, encoded)
    return saved


def _chat_trim_sql(kept_before: int) -> str:
    """Return the DELETE of a game's chat lines beyond the newest `kept_before` (params: game id twice).

    Run in the same statement as the new lines' INSERT, it does not see them: keeping
    CHAT_KEPT − (new lines) of the old ones leaves CHAT_KEPT in all.
    """
    quote = connection.ops.quote_name
    table, game, seq = quote(ChatLine._meta.db_table), quote("game_id"), quote("seq")
    return (f"DELETE FROM {table} WHERE {game} = %s AND {seq} NOT IN "
            f"(SELECT {seq} FROM {table} WHERE {game} = %s ORDER BY {seq} DESC LIMIT {max(kept_before, 0)})")


def _save_the_rest(game, log, deadlines, room_status, now, chat) -> None:
    """Write a saved change's log row, deadlines and room status (databases without data-modifying WITH)."""
    if chat:
        with connection.cursor() as cursor:
            cursor.execute(_chat_trim_sql(settings.CHAT_KEPT - len(chat)), [game.pk, game.pk])
        ChatLine.objects.bulk_create(chat[-settings.CHAT_KEPT:] if settings.CHAT_KEPT > 0 else [])
    for model, columns, values in ([log] if log is not None else []) + deadlines:
        with connection.cursor() as cursor:  # SQL built once, as the UPDATE's: Model.save cost more than the INSERT
            cursor.execute(insert_sql(model, columns), values)
    if room_status is not None:
        Room.objects.filter(pk=game.room_id).update(status=room_status, updated=now)


def _save_in_one_statement(game, read_version, values, encoded, log, deadlines, room_status, now, chat=()) -> bool:
    quote = connection.ops.quote_name
    params = [json_param(encoded[name]) if name in encoded else prepared(Game._meta.get_field(name), value)
              for name, value in values.items()]
    params += [game.pk, read_version]
    update = _update_sql(connection.vendor, tuple(values))
    if connection.vendor != "postgresql":  # the UPDATE alone; its row count says whether it was saved
        with connection.cursor() as cursor:
            cursor.execute(update, params)
            return cursor.rowcount == 1
    sql = [f"WITH moved AS ({update} RETURNING {quote('id')})"]
    kept = [new_row(line) for line in chat[-settings.CHAT_KEPT:]] if chat and settings.CHAT_KEPT > 0 else []
    inserts = ([log] if log is not None else []) + deadlines + kept
    for k, (model, columns, row_params) in enumerate(inserts):
        sql.append(f", ins{k} AS (INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "
                   f"SELECT {', '.join(['%s'] * len(columns))} FROM moved)")
        params += row_params
    if chat:
        trim = _chat_trim_sql(settings.CHAT_KEPT - len(kept))
        sql.append(f", chat_trimmed AS ({trim} AND EXISTS (SELECT 1 FROM moved))")
        params += [game.pk, game.pk]
    if room_status is not None:
        sql.append(f", room_changed AS (UPDATE {quote(Room._meta.db_table)} SET {quote('status')} = %s, "
                   f"{quote('updated')} = %s WHERE {quote('id')} = %s AND EXISTS (SELECT 1 FROM moved))")
        params += [room_status, prepared(Room._meta.get_field("updated"), now), game.room_id]
    sql.append(" SELECT count(*) FROM moved")
    with connection.cursor() as cursor:
        cursor.execute("".join(sql), params)
        return cursor.fetchone()[0] == 1


@functools.cache
def _update_sql(vendor: str, names: tuple[str, ...]) -> str:
    """Build once the compare-and-set UPDATE of the game row's `names` (params: their values, id, version)."""
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(Game._meta.get_field(name).column)} = %s" for name in names)
    return f"UPDATE {quote(Game._meta.db_table)} SET {sets} WHERE {quote('id')} = %s AND {quote('version')} = %s"


def _log_row(game_id: int, version: int, seq: int, events: list[dict], now) -> NewRow:
    """Return the change's log row, built without a model instance (one on every move cost more than its INSERT)."""
    return GameLog, _log_columns(connection.vendor), [game_id, version, seq, json_param(json_bytes(events)),
                                                      datetime_param(connection.vendor, now)]


@functools.cache
def _log_columns(vendor: str) -> tuple[str, ...]:
    return tuple(connection.ops.quote_name(GameLog._meta.get_field(name).column)
                 for name in ("game", "version", "seq", "events", "created"))
