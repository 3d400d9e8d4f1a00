"""Every change to a game: read → engine → one write → one send per seat (docs/architecture.md "A move").

A move reads the game row (`game.store.game_read`, or takes the copy this process's last move
of the room kept), validates the answer, runs the engine and the computer turns it sets off,
numbers each seat's frames, and saves the row, the log row and any deadlines in one write
that compares the version it read (`game.store.game_save`).
If another process changed the game meanwhile the save does nothing and the service runs
again from the read (`_retried`). Frames go out only after the save, each seat's as one
group message (`_deliver`). The rare changes that also write other tables (leaving,
reclaiming, beginning) lock the row in a transaction instead; their saves compare the
version too, so the two kinds never overwrite each other.

Services raise `ProtocolError` with docs/protocol.md's codes when a request is refused; a
refusal changes nothing.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import time
from datetime import UTC, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.dispatch import receiver
from django.utils import timezone

from game import messages
from game.engine import GameState, IllegalAction, apply, choose, computer_rng, new_game, view
from game.models import Game, GameLog, SavedGameState
from game.seats import answers_for, level_of, prompt_retire, seat_record, shown_players
from game.store import Change, chat_recent, game_read, game_read_locked, game_save, game_take_kept
from lobby_site import metrics
from lobby_site.names import name_key
from lobby_site.wire import (
    COMPUTER_LEVELS,
    ErrorCode,
    ProtocolError,
    ServerCmd,
    answer_to_action,
    clean_chat,
    clean_game_message,
    encode,
)
from rooms import store as rooms_store
from rooms.clock import deadline_handler
from rooms.models import Player, Room
from rooms.models import Deadline
from rooms.notify import LOBBY_GROUP, room_group, send_on_commit, send_to_room_on_commit
from rooms.services import (
    computer_name_free,
    deadline_cancel,
    deadline_schedule,
    player_data,
    rematch_offered,
    room_close,
    room_data,
    token_hash,
)
from rooms.signals import room_filled, seats_connected, seats_disconnected

RUNNING = (Game.Status.PLAYING, Game.Status.PAUSED)
AWAY_WAIT_KIND = "away_wait"
TURN_TIMEOUT_KIND = "turn_timeout"
VOTE_TIMEOUT_KIND = "vote_timeout"
SPECTATORS_KIND = "spectators"  # tell the table the spectator count (docs/protocol.md "Spectators")
SPECTATORS_GAP = 10  # seconds: at most one `spectators` event every 10 s
WATCH = -1  # the key of the spectators' frames in a change's Frames (public events, numbered by the log)
SAVE_ATTEMPTS = 20  # reads a move may take when other processes keep changing its game


class _Conflict(Exception):
    """The game changed between this service's read and its save: read again."""


def _retried(service):
    """Run `service` again from its read while its save loses the compare-and-set."""

    @functools.wraps(service)
    def run(**kwargs):
        for _ in range(SAVE_ATTEMPTS - 1):
            try:
                return service(**kwargs)
            except _Conflict:
                metrics.SAVE_CONFLICTS.inc()
                continue
        return service(**kwargs)

    return run


# --- Reading ---------------------------------------------------------------------------------


def _names(game: Game) -> list[str]:
    return [record["name"] for record in game.seats]


def _vote(game: Game) -> dict | None:
    """Return the view's `vote` while the game is paused: vacant seats, who must still answer, who is leaving."""
    if game.status != Game.Status.PAUSED or not game.pause:
        return None
    return {"seats": game.pause["vacant"], "waiting_for": game.pause["waiting_for"],
            "leaving": game.pause["leaving"]}


def _view(game: Game, seat: int, *, prompt: dict | None, here: bool = False, spectators: int | None = None) -> dict:
    """Return `seat`'s view; `here` shows the seat connected (it is saying HELLO right now)."""
    players = shown_players(game.seats)
    if here:
        players[seat]["connected"] = True
    data = messages.view_data(game_id=game.pk, status=game.status, version=game.version,
                              state=GameState.from_json(game.state), seat=seat, players=players, prompt=prompt,
                              recent_events=game.recent, chat=chat_recent(game.pk),
                              spectators=_spectators(game.room_id) if spectators is None else spectators)
    data["vote"] = _vote(game)
    return data


def _waiting_players(room_id: int) -> list[dict]:
    """Return a waiting room's seats as ROOMMATES shows them; computers are always there."""
    return [{"seat": taken.seat, "name": taken.name, "is_computer": taken.is_computer,
             "connected": taken.is_computer or taken.connected,
             "level": (taken.level or "normal") if taken.is_computer else None}
            for taken in rooms_store.room_seats(room_id)]


def roommates_data(*, room_id: int, here: int | None = None, room: Room | None = None) -> dict | None:
    """Return ROOMMATES data for a room still waiting for its game, else None.

    `here` is a seat to show connected (it is saying HELLO right now); `room`, the room as
    the caller has just read it (else it is read here).
    """
    if room is None:
        room = rooms_store.room_read(room_id)
    if room is None or room.status != Room.Status.WAITING:
        return None
    players = _waiting_players(room_id)
    for player in players:
        player["connected"] |= player["seat"] == here
    return {"players": players, "needed": room.num_of_players - len(players)}


def roommates_frame(*, room_id: int, reply_to: int | None = None) -> dict:
    """Return a ROOMMATES frame, also once the game has begun (then nobody is needed)."""
    data = roommates_data(room_id=room_id)
    if data is None:
        game = game_read(room_id)
        players = shown_players(game.seats) if game is not None else _waiting_players(room_id)
        data = {"players": players, "needed": 0}
    return messages.roommates_frame(data, reply_to)


def game_status(*, room_id: int, seat: int, reply_to: int | None = None) -> dict:
    """Return the GAME_STATUS frame: `seat`'s view with its latest msg_id (no msg_id is used up)."""
    game = game_read(room_id)
    if game is None:
        raise ProtocolError(ErrorCode.GAME_NOT_STARTED)
    record = game.seats[seat]
    return messages.view_frame(ServerCmd.GAME_STATUS, _view(game, seat, prompt=record["prompt"]),
                               record["msg_id"], reply_to)


# --- Writing: a change's jobs, one function each --------------------------------------------


def _computers_play(game: Game, state: GameState, events: list[dict]) -> GameState:
    """Let computer (and autoplayed) seats answer until a person must (R17); append their events to `events`.

    Each answers at its level; a hard computer searches over what the public history tells
    it (the game's log so far, read only when a hard seat acts, and this change's events).
    It runs before the compare-and-set save, outside any lock: if the game moved on
    meanwhile the save fails and the whole change is made again from the new state.
    """
    logged: list[dict] | None = None
    while state.awaiting is not None and answers_for(game.seats[state.awaiting["seat"]]):
        seat = state.awaiting["seat"]
        level = level_of(game.seats[seat])
        history: list[dict] = []
        if level == "hard":
            if logged is None:
                logged = [event for row in GameLog.objects.filter(game_id=game.pk).order_by("version")
                          .values_list("events", flat=True) for event in row]
            history = logged + [messages.public_form(event) for event in events]
        answer = choose(level, view(state, seat), history, computer_rng(state, seat), budget=settings.HARD_PLAYOUTS)
        state, more = apply(state, seat, answer)
        events.extend(more)
    return state


Frames = dict[int, list[dict]]  # each seat's frames of one change, numbered


def _number_events(game: Game, events: list[dict], *, top: int, outcome: dict | None = None,
                   skip_seat: int | None = None, logged_before: int = 0) -> tuple[Frames, list[dict]]:
    """Number every seat's frames for `events` (`skip_seat` hears none); return them and the public events.

    The spectators' frames (key WATCH) are numbered by the log: `logged_before` public events
    of this change (the `begin`) come before them.
    """
    built = messages.EventFrames(events, _names(game), top, outcome)
    frames: Frames = {WATCH: built.for_watch(game.event_count + logged_before)}
    for seat, record in enumerate(game.seats):
        if seat != skip_seat:
            frames[seat], record["msg_id"] = built.for_seat(seat, record["msg_id"])
    return frames, built.public


def _turn_deadline(game: Game, state: GameState) -> str | None:
    """Return when TURN_TIMEOUT runs out for the person who must act now (ISO 8601 UTC), or None."""
    if settings.TURN_TIMEOUT <= 0 or state.awaiting is None:
        return None
    record = game.seats[state.awaiting["seat"]]
    if answers_for(record) or record["away"]:
        return None
    due = timezone.now() + timedelta(seconds=settings.TURN_TIMEOUT)
    return due.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _prompts_replace(game: Game, state: GameState, frames: Frames, deadline: str | None = None) -> None:
    """Retire every seat's pending prompt and prompt the seat that must decide in `state` (a new msg_id)."""
    names = _names(game)
    for seat, record in enumerate(game.seats):
        prompt_retire(record)
        payload = messages.new_prompt(state, seat, names)
        if payload is not None:
            if deadline is not None:
                payload["data"]["deadline"] = deadline  # docs/protocol.md "deadlines in the view"
            record["msg_id"] += 1
            record["prompt"] = {"msg_id": record["msg_id"], "payload": payload}
            frames.setdefault(seat, []).append(messages.prompt_frame(record["prompt"]))


def _frame_last(game: Game, frames: Frames, seat: int, build) -> None:
    """Give `seat` one more numbered frame, built from its next msg_id."""
    record = game.seats[seat]
    record["msg_id"] += 1
    frames.setdefault(seat, []).append(build(record["msg_id"]))


def _waits(game: Game, state: GameState) -> list[dict]:
    """Return the deadline of the person who must act now, if one applies (AWAY_WAIT or TURN_TIMEOUT).

    An away seat waits AWAY_WAIT seconds before the computer acts for it; with TURN_TIMEOUT
    on, a present one waits that long before the computer acts for it once.
    """
    if state.awaiting is None:
        return []
    seat = state.awaiting["seat"]
    record = game.seats[seat]
    if record["prompt"] is None or answers_for(record):
        return []
    if record["away"]:
        return [_deadline_for_prompt(game, seat, AWAY_WAIT_KIND, settings.AWAY_WAIT)]
    if settings.TURN_TIMEOUT > 0:
        return [_deadline_for_prompt(game, seat, TURN_TIMEOUT_KIND, settings.TURN_TIMEOUT)]
    return []


def _deadline_for_prompt(game: Game, seat: int, kind: str, seconds: float) -> dict:
    """Return a deadline of `kind` for `seat`'s current prompt: it acts only if that prompt is still pending."""
    record = game.seats[seat]
    return {"kind": kind, "due_at": timezone.now() + timedelta(seconds=seconds), "room_id": game.room_id,
            "player_id": record["player_id"], "data": {"seat": seat, "msg_id": record["prompt"]["msg_id"]}}


def _save(game: Game, frames: Frames, change: Change, *, keep: bool = False) -> None:
    """Save the game with `change` (compare-and-set), then deliver `frames`; raise _Conflict if it moved on.

    `keep`: the process keeps the row written for the room's next move (`game.store.game_save`).
    """
    if not game_save(game, change, ("state", "seats", "status", "pause"), keep=keep):
        raise _Conflict
    _deliver(game, frames)
    if change.room_status == Room.Status.FINISHED:
        _live_games_changed()


def _deliver(game: Game, frames: Frames) -> None:
    """Send a change's frames, each encoded once, after commit: one message to the room group.

    One group send for every seat and every spectator, not one per seat nor a second for the
    spectators: with Redis each send is a publish and a round trip, and they were the largest
    cost of a move. Each seat connection keeps its own seat's part; each process's spectator
    relay the `watch` part, which it frames SPECTATOR_DELAY later, after the seats' frames
    (200 spectators framed first once put 70 ms on every move's latency: `game.watchers`).
    """
    parts = {str(seat): seat_message(seat_frames) for seat, seat_frames in frames.items()
             if seat != WATCH and seat_frames and not game.seats[seat]["is_computer"]}
    message = room_message(parts)
    if frames.get(WATCH):
        message["watch"] = watch_message(frames[WATCH])
    if parts or "watch" in message:
        send_on_commit(room_group(game.room_id), message)


def _send_to_seat(room_id: int, seat: int, frames: list[dict]) -> None:
    """Send frames meant for one seat only (PLAYER_STATE, LEAVE_REP) after commit, through the room group."""
    send_on_commit(room_group(room_id), room_message({str(seat): seat_message(frames)}))


def room_message(parts: dict[str, dict]) -> dict:
    """Return the group message (`room.frames`) of one change: each seat's part, by seat (and,
    added by `_deliver`, the spectators' `watch` part)."""
    return {"type": "room.frames", "seats": parts}


def seat_message(frames: list[dict]) -> dict:
    """Return a seat's part of a `room.frames` message: its frames, encoded, for every connection of the seat."""
    cmds = {frame["cmd"] for frame in frames}
    return {"texts": [encode(frame) for frame in frames],
            "begins": ServerCmd.GAME_BEGIN in cmds, "leaves": ServerCmd.LEAVE_REP in cmds}


def _play_on(game: Game, events: list[dict], *, top: int, state: GameState, before: GameState | None = None,
             change: Change | None = None, lead: dict[int, dict] | None = None) -> tuple[Frames, Change]:
    """Apply a new position `state` (reached with `events` from top card `top`) to `game`.

    Numbers the events, replaces every prompt, schedules the next wait, and finishes the game
    when `state` has an outcome. `lead` gives seats a first frame (GAME_BEGIN's view). A
    `state` that is `before` (nothing was played: a resumed game) keeps the stored state.
    """
    frames: Frames = {}
    if lead:
        for seat, data in lead.items():
            _frame_last(game, frames, seat, lambda msg_id, data=data: messages.view_frame(
                ServerCmd.GAME_BEGIN, data, msg_id))
    outcome = state.outcome.to_json() if state.outcome else None
    deadline = _turn_deadline(game, state)
    if deadline is not None:
        turns = [event for event in events if event.get("event") == "turn"]
        if turns and turns[-1]["seat"] == state.awaiting["seat"]:
            turns[-1]["deadline"] = deadline
    numbered, public = _number_events(game, events, top=top, outcome=outcome,
                                      logged_before=len(change.events) if change else 0)
    for seat, seat_frames in numbered.items():
        frames.setdefault(seat, []).extend(seat_frames)
    _prompts_replace(game, state, frames, deadline)
    change = change or Change()
    change.events += public
    change.deadlines += _waits(game, state)
    if state is not before:
        game.state = state.to_json()
    if state.outcome is not None:
        game.status = Game.Status.FINISHED
        change.room_status = Room.Status.FINISHED
    return frames, change


def _notice(game: Game, events: list[dict], *, skip_seat: int | None = None) -> tuple[Frames, Change]:
    """Number public notices (chat, presence, pause) for every seat; prompts stay as they are."""
    frames, public = _number_events(game, events, top=game.state["pile"][-1], skip_seat=skip_seat)
    return frames, Change(events=public)


# --- Moves -----------------------------------------------------------------------------------


def game_begin_if_ready(*, room_id: int) -> bool:
    """Begin the room's game if every seat is taken and every person is connected; say whether.

    Locks the room row (SELECT … FOR UPDATE), so of several processes whose connections
    complete the room at once exactly one begins the game (the Game's unique room backs it up).
    """
    with transaction.atomic():
        room = rooms_store.room_read(room_id, lock=True)
        if room is None or room.status != Room.Status.WAITING:
            return False
        players = rooms_store.room_seats(room_id)
        if len(players) < room.num_of_players or not all(p.is_computer or p.connected for p in players):
            return False
        seed = settings.GAME_SEED if settings.GAME_SEED is not None else secrets.randbits(63)
        dealt, events = new_game(room.num_of_players, seed, settings.MAX_TURNS)
        game = Game.objects.create(room=room, room_name=room.name, watchable=room.watchable, seed=seed, state=dealt.to_json(), version=0, seats=[
            seat_record(player_id=p.pk, name=p.name, is_computer=p.is_computer, level=p.level) for p in players])
        state = _computers_play(game, dealt, events)
        shown = shown_players(game.seats)
        lead = {p.seat: messages.view_data(game_id=game.pk, status=game.status, version=0, state=dealt, seat=p.seat,
                                           players=shown, prompt=None, recent_events=[], spectators=room.spectators)
                for p in players if not p.is_computer}
        begin = messages.begin_event(dealt, [p.name for p in players], [p.is_computer for p in players])
        frames, change = _play_on(game, events, top=dealt.top_card, state=state, lead=lead,
                                  change=Change(events=[begin]))
        watching = messages.public_view_data(game_id=game.pk, status=Game.Status.PLAYING, version=0, state=dealt,
                                             players=shown, recent_events=[], spectators=room.spectators)
        frames[WATCH] = [messages.watch_frame(ServerCmd.WATCHING, watching, 1), *frames[WATCH]]
        change.room_status = Room.Status.FINISHED if state.outcome else Room.Status.PLAYING
        _save(game, frames, change)
        if room.spectators != room.spectators_shown and not state.outcome:
            _spectators_tell_later(room_id, None)
        _live_games_changed()
        return True


@_retried
def game_answer(*, room_id: int, seat: int, payload: dict) -> None:
    """Apply `seat`'s answer (a GAME_MESSAGE payload) to its pending prompt, then let computers play on.

    Checks in docs/protocol.md's order: GAME_NOT_STARTED, GAME_PAUSED, (NO_PENDING_PROMPT once
    the game is over), STALE_PROMPT, NOT_YOUR_TURN, INVALID, NOT_IN_HAND. One compare-and-set
    write and no lock; no read either when this process kept the row its last move of the room
    wrote (`game.store.game_take_kept`). That copy may be behind the row, so what it refuses is
    checked again on a read: a refusal is always true of the game as it stands.
    """
    kept = game_take_kept(room_id)
    if kept is not None:
        # The copy may be behind the row: what it refuses falls through to the read below.
        with contextlib.suppress(ProtocolError):
            return _answer(kept, seat, payload)
    return _answer(game_read(room_id), seat, payload)


def _answer(game: Game | None, seat: int, payload: dict) -> None:
    if game is None:
        raise ProtocolError(ErrorCode.GAME_NOT_STARTED)
    if game.status == Game.Status.PAUSED:
        raise ProtocolError(ErrorCode.GAME_PAUSED)
    if game.status != Game.Status.PLAYING:
        raise ProtocolError(ErrorCode.NO_PENDING_PROMPT, detail="the game is over")
    reply_to, data = clean_game_message(payload)
    record = game.seats[seat]
    pending = record["prompt"]
    if pending is None:
        if reply_to in record["past"]:
            raise ProtocolError(ErrorCode.STALE_PROMPT, "reply_to")
        raise ProtocolError(ErrorCode.NOT_YOUR_TURN)
    if reply_to != pending["msg_id"]:
        raise ProtocolError(ErrorCode.STALE_PROMPT, "reply_to", f"the current prompt is {pending['msg_id']}")
    action = answer_to_action(pending["payload"]["data"]["kind"], data)
    state = GameState.from_json(game.state)
    try:
        new_state, events = apply(state, seat, action)
    except IllegalAction as refusal:
        raise ProtocolError(ErrorCode(refusal.code), "data", refusal.detail) from None
    new_state = _computers_play(game, new_state, events)
    _save(game, *_play_on(game, events, top=state.top_card, state=new_state), keep=True)


@_retried
def seat_act_for(*, room_id: int, seat: int, msg_id: int, away: bool) -> bool:
    """Let the computer strategy answer `seat`'s prompt `msg_id` if it is still pending; say whether.

    `away` (AWAY_WAIT): the seat must still be away, and the computer goes on acting for it
    until it comes back. Otherwise (TURN_TIMEOUT) it acts once. Either way the others hear
    `autoplay`, then the seat's answer and any computer turns after it. Compare-and-set.
    """
    game = game_read(room_id)
    if game is None or game.status != Game.Status.PLAYING:
        return False
    record = game.seats[seat]
    if record["prompt"] is None or record["prompt"]["msg_id"] != msg_id or (away and not record["away"]):
        return False
    if record["is_computer"]:
        return False
    record["autoplay"] = away
    state = GameState.from_json(game.state)
    events = [{"event": "autoplay", "seat": seat}]
    new_state, more = apply(state, seat, choose("normal", view(state, seat), [], computer_rng(state, seat)))
    events.extend(more)
    new_state = _computers_play(game, new_state, events)
    _save(game, *_play_on(game, events, top=state.top_card, state=new_state))
    return True


@deadline_handler(AWAY_WAIT_KIND)
def _away_wait(deadline) -> None:
    seat_act_for(room_id=deadline.room_id, seat=deadline.data["seat"], msg_id=deadline.data["msg_id"], away=True)


@deadline_handler(TURN_TIMEOUT_KIND)
def _turn_timeout(deadline) -> None:
    seat_act_for(room_id=deadline.room_id, seat=deadline.data["seat"], msg_id=deadline.data["msg_id"], away=False)


# --- Notices ---------------------------------------------------------------------------------


def _chat_allow(record: dict, now: float) -> None:
    """Take one line from the seat's chat budget (a token bucket kept in its seat record), or refuse.

    CHAT_RATE lines a second, bursts of CHAT_BURST, per seat: every connection of the seat, in
    any process, draws on the one budget, since it lives in the game row and is saved with the
    line by the compare-and-set write. A refused line writes nothing.
    """
    rate, burst = settings.CHAT_RATE, max(settings.CHAT_BURST, 1)
    if rate <= 0:
        return
    tokens, last = record.get("chat") or (burst, now)
    tokens = min(burst, tokens + max(0.0, now - last) * rate)
    if tokens < 1:
        raise ProtocolError(ErrorCode.RATE_LIMITED, "text", f"at most {rate:g} chat lines a second per seat")
    record["chat"] = [tokens - 1, now]


@_retried
def game_chat(*, room_id: int, seat: int, payload: dict) -> None:
    """Broadcast a `chat` event from `seat` in a running game, within the seat's chat budget. Compare-and-set."""
    game = game_read(room_id)
    if game is None:
        raise ProtocolError(ErrorCode.GAME_NOT_STARTED)
    if game.status not in RUNNING:
        raise ProtocolError(ErrorCode.NO_PENDING_PROMPT, detail="the game is over")
    text = clean_chat(payload)
    _chat_allow(game.seats[seat], time.time())
    event = {"event": "chat", "seat": seat, "name": game.seats[seat]["name"], "text": text}
    _save(game, *_notice(game, [event]))


@_retried
@_retried
def game_presence(*, room_id: int, seats: list[int], event: str) -> bool:
    """Tell the other seats of a running game that `seats` went away or came back; say whether.

    `event` is "disconnected" or "reconnected", for every seat of `seats` (a batch of presence
    changes makes one change to the game). A seat hears nothing about itself (its next
    snapshot shows it). A seat that goes away while it must act gets its AWAY_WAIT; one that
    goes away during a pause counts as choosing the computer, or, if it asked to leave, as
    leaving (docs/protocol.md "Leaving a game" 4 and 7). Seats that left, computers, and seats
    already so are ignored. Locks the game row when the pause's vote may settle; else
    compare-and-set.
    """
    game = game_read(room_id)
    if game is None or game.status not in RUNNING:
        return False
    if game.status == Game.Status.PAUSED:
        return any([_paused_presence(room_id=room_id, seat=seat, event=event) for seat in seats])
    away = event == "disconnected"
    changed = [seat for seat in seats if not game.seats[seat]["is_computer"] and game.seats[seat]["away"] != away]
    if not changed:
        return False
    frames: Frames = {}
    change = Change()
    for seat in changed:
        record = game.seats[seat]
        record["away"] = away
        record["autoplay"] = record["autoplay"] and away
        numbered, public = _number_events(game, [{"event": event, "seat": seat}], top=game.state["pile"][-1],
                                          skip_seat=seat, logged_before=len(change.events))
        for to, seat_frames in numbered.items():
            frames.setdefault(to, []).extend(seat_frames)
        change.events += public
        if away and record["prompt"] is not None:
            change.deadlines.append(_deadline_for_prompt(game, seat, AWAY_WAIT_KIND, settings.AWAY_WAIT))
    _save(game, frames, change)
    return True


def _paused_presence(*, room_id: int, seat: int, event: str) -> bool:
    with transaction.atomic():
        game = game_read_locked(room_id)
        if game is None or game.status != Game.Status.PAUSED:
            return False
        pause = game.pause
        record = game.seats[seat]
        if record["is_computer"] or seat in pause["vacant"]:
            return False
        record["away"] = event == "disconnected"
        if not record["away"]:
            record["autoplay"] = False
        if record["away"] and seat in pause["leaving"]:
            _seat_vacate(game, seat)
            _vote_settle(game)
            return True
        if record["away"] and seat in pause["waiting_for"]:
            pause["waiting_for"].remove(seat)
        _save(game, *_notice(game, [{"event": event, "seat": seat}], skip_seat=seat))
        _vote_settle(game)
        return True


@receiver(seats_disconnected)
def _seats_disconnected(sender, *, room_id: int, room_status: str, seats: list[int], **kwargs) -> None:
    """Seats' last live connections ended (closed, or their process died).

    A finished room's game is over (the two change in one write): nobody there to tell, and
    every table's four sockets close that way after GAME_OVER, so no read of the game either.
    """
    if room_status not in (Room.Status.WAITING, Room.Status.FINISHED):
        game_presence(room_id=room_id, seats=seats, event="disconnected")


@receiver(seats_connected)
def _seats_connected(sender, *, room_id: int, room_status: str, seats: list[int], room_complete: bool,
                     **kwargs) -> None:
    """Seats have a live connection again: a completed waiting room begins, a running game hears they are back.

    An incomplete room is not looked at again here (the settle that connected its seats
    counted them with the room locked); its roommates hear the change.
    """
    if room_status == Room.Status.FINISHED:
        return  # its game is over: a seat back on the final screen is told nothing new
    if room_status != Room.Status.WAITING:
        game_presence(room_id=room_id, seats=seats, event="reconnected")
    elif not (room_complete and game_begin_if_ready(room_id=room_id)):
        send_to_room_on_commit(room_id, {"type": "roommates.changed"})


@receiver(room_filled)
def _room_filled(sender, *, room_id: int, **kwargs) -> None:
    """An operator seated computers in a waiting room: begin its game if every person is connected."""
    game_begin_if_ready(room_id=room_id)


# --- Leaving a game (docs/protocol.md "Leaving a game") -------------------------------------


def _players_json(game: Game) -> list[dict]:
    return [{"seat": seat, "name": r["name"], "is_computer": r["is_computer"]} for seat, r in enumerate(game.seats)]


def _save_state(game: Game, reason: str) -> SavedGameState:
    return SavedGameState.objects.create(game=game, room_id=game.room_id, reason=reason, version=game.version,
                                         players=_players_json(game), state=game.state)


def _remaining(game: Game) -> list[int]:
    """Return the human seats that neither left nor asked to leave."""
    pause = game.pause
    return [seat for seat, r in enumerate(game.seats) if not r["is_computer"]
            and seat not in pause["vacant"] and seat not in pause["leaving"]]


def _vote_restart(game: Game) -> None:
    """Ask every remaining present human again, and restart VOTE_TIMEOUT (a new leave restarts the vote)."""
    pause = game.pause
    pause["waiting_for"] = [s for s in _remaining(game) if not game.seats[s]["away"]] if pause["vacant"] else []
    deadline_cancel(kind=VOTE_TIMEOUT_KIND, room_id=game.room_id)
    deadline_schedule(kind=VOTE_TIMEOUT_KIND, due_at=timezone.now() + timedelta(seconds=settings.VOTE_TIMEOUT),
                      room_id=game.room_id)


def _player_states(game: Game, seats: list[int]) -> None:
    """Queue PLAYER_STATE (the seat's view, no msg_id used up) to each of `seats`."""
    for seat in seats:
        data = _view(game, seat, prompt=None)
        _send_to_seat(game.room_id, seat, [
            messages.view_frame(ServerCmd.PLAYER_STATE, data, game.seats[seat]["msg_id"])])


def _seat_vacate(game: Game, seat: int) -> None:
    """Make a leaving seat vacant: it gets LEAVE_REP, the others `left`, the remaining humans CREATE_A_COMPUTER."""
    pause = game.pause
    pause["leaving"].remove(seat)
    pause["vacant"].append(seat)
    top = game.state["pile"][-1]
    name = game.seats[seat]["name"]
    frames, change = _notice(game, [{"event": "left", "seat": seat, "name": name}], skip_seat=seat)
    _frame_last(game, frames, seat, lambda msg_id: messages.leave_rep_frame(seat=seat, top=top, msg_id=msg_id))
    for other in _remaining(game):
        _frame_last(game, frames, other, lambda msg_id: messages.create_a_computer_frame(
            seat=seat, name=name, top=top, msg_id=msg_id))
    _vote_restart(game)
    _save(game, frames, change)


def _vote_settle(game: Game) -> None:
    """End the pause once nobody is leaving and every remaining human has chosen.

    With a human left, computers take the vacant seats and play resumes; with none, the game
    is saved as abandoned and the room closed.
    """
    pause = game.pause
    if pause["leaving"] or pause["waiting_for"]:
        return
    deadline_cancel(kind=VOTE_TIMEOUT_KIND, room_id=game.room_id)
    if not _remaining(game):
        game.status = Game.Status.ABANDONED
        game.pause = None
        _save(game, {}, Change())
        _save_state(game, SavedGameState.Reason.ABANDONED)
        room_close(room_id=game.room_id)
        _live_games_changed()
        return
    events = []
    taken = {name_key(r["name"]) for r in game.seats}
    for seat in sorted(pause["vacant"]):
        record = game.seats[seat]
        left_name = record["name"]
        name = computer_name_free(taken)
        taken.add(name_key(name))
        level = min(pause.get("levels") or ["normal"], key=COMPUTER_LEVELS.index)
        Player.objects.filter(pk=record["player_id"]).update(
            is_computer=True, name=name, name_key=name_key(name), connected=False, level=level)
        record.update(is_computer=True, name=name, human=left_name, away=False, autoplay=False, level=level)
        events.append({"event": "computer_joined", "seat": seat, "name": left_name})
    state = GameState.from_json(game.state)
    events.append({"event": "resumed", "seat": state.awaiting["seat"]})
    game.status = Game.Status.PLAYING
    game.pause = None
    new_state = _computers_play(game, state, events)
    frames, change = _play_on(game, events, top=state.top_card, state=new_state, before=state)
    change.room_status = change.room_status or Room.Status.PLAYING
    _save(game, frames, change)
    send_to_room_on_commit(game.room_id, {"type": "roommates.changed"})


def game_leave_request(*, room_id: int, seat: int, player_id: int) -> None:
    """Start `seat`'s leave (LEAVE_REQUEST): pause and save the game, or free the seat before it begins.

    In a running game: the pending prompts are cancelled, every seat hears `paused`, every
    human gets PLAYER_STATE, and a vote already running starts again. Before the game:
    the seat is freed and its connections get LEAVE_REP (msg_id null). Locks the game row
    (the room row before the game).
    """
    from rooms.services import seat_free

    with transaction.atomic():
        game = game_read_locked(room_id)
        if game is None:
            if not seat_free(player_id=player_id):
                raise ProtocolError(ErrorCode.NO_PENDING_PROMPT, detail="the room is not waiting")
            _send_to_seat(room_id, seat, [messages.leave_rep_frame(seat=seat)])
            return
        if game.status not in RUNNING:
            raise ProtocolError(ErrorCode.NO_PENDING_PROMPT, detail="the game is over")
        change = Change()
        if game.status == Game.Status.PLAYING:
            for record in game.seats:
                prompt_retire(record)
            game.status = Game.Status.PAUSED
            game.pause = {"leaving": [], "vacant": [], "waiting_for": [], "saved": None}
            change.room_status = Room.Status.PAUSED
        pause = game.pause
        if seat in pause["vacant"]:
            raise ProtocolError(ErrorCode.NO_PENDING_PROMPT, detail="you have left")
        if seat in pause["leaving"]:  # asked again: the state once more, for a client that lost it
            _player_states(game, [seat])
            return
        pause["leaving"].append(seat)
        pause["saved"] = _save_state(game, SavedGameState.Reason.LEAVE).pk
        _vote_restart(game)
        frames, notice = _notice(game, [{"event": "paused", "seat": seat}])
        change.events = notice.events
        _save(game, frames, change)
        _player_states(game, _remaining(game) + pause["leaving"])


def _paused_game(room_id: int) -> Game:
    game = game_read_locked(room_id)
    if game is None:
        raise ProtocolError(ErrorCode.GAME_NOT_STARTED)
    return game


def game_leave(*, room_id: int, seat: int) -> None:
    """Leave for good after LEAVE_REQUEST (LEAVE): the seat becomes vacant. Locks the game row."""
    with transaction.atomic():
        game = _paused_game(room_id)
        if game.status != Game.Status.PAUSED or seat not in game.pause["leaving"]:
            raise ProtocolError(ErrorCode.NO_PENDING_PROMPT, detail="send LEAVE_REQUEST first")
        _seat_vacate(game, seat)
        _vote_settle(game)


def game_add_computer(*, room_id: int, seat: int, level: str = "normal") -> None:
    """Record `seat`'s yes to computers of `level` in the vacant seats (ADD_COMPUTER). Locks the game row.

    If voters ask for different levels, the lowest wins (docs/protocol.md "Computer levels").
    """
    with transaction.atomic():
        game = _paused_game(room_id)
        if game.status != Game.Status.PAUSED or seat not in game.pause["waiting_for"]:
            raise ProtocolError(ErrorCode.NO_PENDING_PROMPT, detail="no vote is waiting for you")
        game.pause["waiting_for"].remove(seat)
        game.pause.setdefault("levels", []).append(level)
        _save(game, {}, Change())
        _vote_settle(game)


def vote_expire(*, room_id: int) -> bool:
    """End a vote at VOTE_TIMEOUT: whoever asked to leave leaves, the silent choose the computer.

    Locks the game row.
    """
    with transaction.atomic():
        game = game_read_locked(room_id)
        if game is None or game.status != Game.Status.PAUSED:
            return False
        for seat in list(game.pause["leaving"]):
            _seat_vacate(game, seat)
        game.pause["waiting_for"] = []
        _save(game, {}, Change())
        _vote_settle(game)
        return True


@deadline_handler(VOTE_TIMEOUT_KIND)
def _vote_timeout(deadline) -> None:
    vote_expire(room_id=deadline.room_id)


# --- Connections ----------------------------------------------------------------------------


@_retried
def seat_reclaim(*, room_id: int, player_id: int) -> None:
    """Give a seat a computer took back to the person who left it (`reclaimed`). Locks the game row."""
    with transaction.atomic():
        game = game_read_locked(room_id)
        player = Player.objects.get(pk=player_id)
        if game is None or game.status != Game.Status.PLAYING or not game.seats[player.seat]["human"]:
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "token", "the seat is not yours now")
        record = game.seats[player.seat]
        name = record["human"]
        record.update(is_computer=False, name=name, human=None, away=False, autoplay=False, level=None)
        Player.objects.filter(pk=player_id).update(is_computer=False, name=name, name_key=name_key(name), level="")
        _save(game, *_notice(game, [{"event": "reclaimed", "seat": player.seat}], skip_seat=player.seat))


def _hello_seat(player: Player) -> dict:
    """Return the seat a HELLO opened, as the consumer keeps it."""
    return {"player_id": player.pk, "seat": player.seat, "name": player.name}


def seat_hello(*, room_id: int, token: str) -> dict:
    """Answer a HELLO: return {"seat": {"player_id", "seat", "name"}, "frames", "waiting"}, or raise UNAUTHORIZED.

    Before the game: CONNECTED and ROOMMATES; during it: CONNECTED and RESUME. A seat a
    computer took from a player who left opens again, once the game plays on, with that
    player's token (`reclaimed`); it does not during the pause or after the game. Reads only
    — two reads, one visit to the ORM thread — except to reclaim a seat: the connection
    itself is recorded afterwards by the process's presence writer (rooms.presence), which
    also begins a completed room's game and tells a running game that the seat is back.
    """
    player = rooms_store.seat_by_token(room_id, token_hash(token))
    if player is None or player.room.status == Room.Status.CLOSED:
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "token")
    room = player.room
    if room.status == Room.Status.WAITING:  # the room as read above, and its seats: two reads in all
        data = roommates_data(room_id=room_id, here=player.seat, room=room)
        names = [mate["name"] for mate in data["players"]]
        frames = [messages.connected_frame(room_data(room, names=names), player_data(player)),
                  messages.roommates_frame(data)]
        return {"seat": _hello_seat(player), "frames": frames, "waiting": True}
    game = game_read(room_id)
    if game is None:  # not after waiting: a game's row is written with its room's new status
        raise ProtocolError(ErrorCode.GAME_NOT_STARTED)
    record = game.seats[player.seat]
    if player.is_computer and (game.status != Game.Status.PLAYING or not record["human"]):
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "token", "the seat is not yours now")
    if game.status == Game.Status.PAUSED and player.seat in game.pause["vacant"]:
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "token", "you left the game")
    if player.is_computer:
        seat_reclaim(room_id=room_id, player_id=player.pk)
        player = Player.objects.select_related("room").get(pk=player.pk)
        room, game = player.room, game_read(room_id)
    seat = _hello_seat(player)
    # A running game: its row names the seats, so a reconnection costs two reads in all.
    names = [record["name"] for record in game.seats]
    record = game.seats[player.seat]
    resume = _view(game, player.seat, prompt=record["prompt"], here=True, spectators=room.spectators)
    frames = [messages.connected_frame(room_data(room, names=names), player_data(player)),
              messages.view_frame(ServerCmd.RESUME, resume, record["msg_id"])]
    offer = rematch_offered(room_id=room_id) if room.status == Room.Status.FINISHED else None
    if offer is not None:  # a rematch was offered while this seat was away: offer it again
        frames.append(messages.rematch_offer_frame(offer))
    return {"seat": seat, "frames": frames, "waiting": False}


# --- Spectators (docs/protocol.md "Spectators") -----------------------------------------------


def watch_message(frames: list[dict]) -> dict:
    """Return the group message (`watch.frames`) carrying the spectators' frames of one change.

    The frames are numbered `first`, `first` + 1, … (the spectator stream), so a connection
    that read a snapshot meanwhile skips what the snapshot holds without decoding anything.
    """
    return {"type": "watch.frames", "texts": [encode(frame) for frame in frames], "first": frames[0]["msg_id"]}


def _live_games_changed() -> None:
    """Tell every process's lobby publisher that a game began or ended (LIVE_GAMES_CHANGED)."""
    send_on_commit(LOBBY_GROUP, {"type": "live.changed"})


def _spectators(room_id: int) -> int:
    return Room.objects.filter(pk=room_id).values_list("spectators", flat=True).first() or 0


def _watch_number(game: Game) -> int:
    """Return the spectator stream's latest msg_id: the public events so far, GAME_OVER included once over."""
    return game.event_count + (1 if game.state.get("outcome") else 0)


def _public_view(game: Game, spectators: int) -> dict:
    return messages.public_view_data(game_id=game.pk, status=game.status, version=game.version,
                                     state=GameState.from_json(game.state), players=shown_players(game.seats),
                                     recent_events=game.recent, spectators=spectators, vote=_vote(game),
                                     chat=chat_recent(game.pk))


class WatchRefused(Exception):
    """The watch socket does not open: no such room (`missing`), or not watchable."""

    def __init__(self, missing: bool):
        super().__init__("no such room" if missing else "the room is not watchable")
        self.missing = missing


def watch_open(*, room_id: int, uncounted: int = 1) -> dict:
    """Return what a new spectator sees first: {"frames", "waiting", "msg_id"}. Writes nothing.

    Before the game: ROOMMATES (unnumbered), `waiting` true. During or after it: WATCHING
    with the public view, numbered with the spectator stream's latest msg_id; its count adds
    `uncounted` (the caller and this process's other spectators not yet written) to the room's.
    Raise WatchRefused for an unknown or closed room, or one created with `watchable` false.
    The caller counts the spectator (`game.watchers`), which writes counts in batches.
    """
    room = Room.objects.filter(pk=room_id).exclude(status=Room.Status.CLOSED).only("watchable", "spectators").first()
    if room is None or not room.watchable:
        raise WatchRefused(missing=room is None)
    data = roommates_data(room_id=room_id)
    if data is not None:
        return {"frames": [messages.roommates_frame(data)], "waiting": True, "msg_id": 0}
    game = game_read(room_id)
    number = _watch_number(game)
    frame = messages.watch_frame(ServerCmd.WATCHING, _public_view(game, max(room.spectators + uncounted, 0)), number)
    return {"frames": [frame], "waiting": False, "msg_id": number}


def watch_status(*, room_id: int, reply_to: int | None = None) -> dict:
    """Return WATCH_STATUS: the public view with the spectator stream's latest msg_id (none used up)."""
    game = game_read(room_id)
    if game is None:
        raise ProtocolError(ErrorCode.GAME_NOT_STARTED)
    number = _watch_number(game)
    return messages.watch_frame(ServerCmd.WATCH_STATUS, _public_view(game, _spectators(room_id)), number, reply_to)


def spectators_apply(*, changes: dict[int, int]) -> None:
    """Add each room's change to its spectator count (a process's batch: `game.watchers`).

    One transaction, one UPDATE per room; a running game's table hears of its new count
    within SPECTATORS_GAP (one `spectators` deadline pending per room).
    """
    with transaction.atomic():
        for room_id, step in sorted(changes.items()):
            Room.objects.filter(pk=room_id).update(spectators=Greatest(F("spectators") + step, 0))
        running = Room.objects.filter(pk__in=changes, status__in=(Room.Status.PLAYING, Room.Status.PAUSED))
        for room_id in running.values_list("pk", flat=True):
            _spectators_tell_later(room_id, None)


def _spectators_tell_later(room_id: int, told) -> None:
    """Schedule the `spectators` event: now, or SPECTATORS_GAP after the last one; once per room."""
    if Deadline.objects.filter(kind=SPECTATORS_KIND, room_id=room_id, claimed_at__isnull=True).exists():
        return
    if told is None:
        told = Room.objects.filter(pk=room_id).values_list("spectators_told", flat=True).first()
    due = timezone.now() if told is None else max(timezone.now(), told + timedelta(seconds=SPECTATORS_GAP))
    deadline_schedule(kind=SPECTATORS_KIND, due_at=due, room_id=room_id)


@_retried
def spectators_tell(*, room_id: int) -> bool:
    """Send the table a `spectators {count}` event if the count changed since the last; say whether.

    At most one every SPECTATORS_GAP seconds: earlier, it is scheduled for then. Compare-and-set.
    """
    room = Room.objects.filter(pk=room_id).first()
    game = game_read(room_id)
    if room is None or game is None or game.status not in RUNNING or room.spectators == room.spectators_shown:
        return False
    now = timezone.now()
    if room.spectators_told is not None and now < room.spectators_told + timedelta(seconds=SPECTATORS_GAP):
        _spectators_tell_later(room_id, room.spectators_told)
        return False
    _save(game, *_notice(game, [{"event": "spectators", "count": room.spectators}]))
    Room.objects.filter(pk=room_id).update(spectators_shown=room.spectators, spectators_told=now)
    return True


@deadline_handler(SPECTATORS_KIND)
def _spectators_due(deadline) -> None:
    spectators_tell(room_id=deadline.room_id)
