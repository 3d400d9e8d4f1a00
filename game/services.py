"""Every change to a game: load → engine → save in one transaction (DESIGN.md "How a move flows").

Each service locks what it changes, stores the state (RNG included), the public event log
and every seat's message counter and pending prompt together, and queues each seat's frames
with `send_on_commit`, so nobody hears of a change that rolled back. Services raise
`ProtocolError` with PROTOCOL.md's codes when a request is refused; a refusal changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from game import messages
from game.engine import STRATEGIES, GameState, IllegalAction, apply, computer_rng, new_game, view
from game.models import Game, GameEvent, SavedGameState
from lobby_site.wire import ErrorCode, ProtocolError, ServerCmd, answer_to_action, clean_chat, clean_game_message
from rooms.clock import deadline_handler
from rooms.models import Player, Room
from rooms.notify import room_group, seat_group, send_on_commit
from rooms.services import (
    computer_name_free,
    connection_close,
    connection_open,
    deadline_cancel,
    deadline_schedule,
    on_seat_gone,
    player_data,
    player_is_connected,
    room_close,
    room_data,
    seat_free,
    token_hash,
)

RUNNING = (Game.Status.PLAYING, Game.Status.PAUSED)
AWAY_WAIT_KIND = "away_wait"
TURN_TIMEOUT_KIND = "turn_timeout"
VOTE_TIMEOUT_KIND = "vote_timeout"


# --- Reading ---------------------------------------------------------------------------------


def _seated(room_id: int) -> list[dict]:
    """Return the room's seats in order: [{"seat", "name", "is_computer", "player_id"}]."""
    return [{"seat": seat, "name": name, "is_computer": is_computer, "player_id": pk}
            for pk, seat, name, is_computer in Player.objects.filter(room_id=room_id).order_by("seat")
            .values_list("pk", "seat", "name", "is_computer")]


def _with_presence(seated: list[dict]) -> list[dict]:
    """Return the seats as views and ROOMMATES show them; computers are always there."""
    return [{"seat": p["seat"], "name": p["name"], "is_computer": p["is_computer"],
             "connected": p["is_computer"] or player_is_connected(player_id=p["player_id"])} for p in seated]


def _recent_events(game: Game) -> list[dict]:
    rows = GameEvent.objects.filter(game=game).order_by("-seq").values_list("data", flat=True)
    return list(reversed(rows[:messages.RECENT_EVENTS]))


def _vote(game: Game) -> dict | None:
    """Return the view's `vote` while the game is paused: vacant seats, who must still answer, who is leaving."""
    if game.status != Game.Status.PAUSED or not game.pause:
        return None
    return {"seats": game.pause["vacant"], "waiting_for": game.pause["waiting_for"],
            "leaving": game.pause["leaving"]}


def _view(game: Game, seat: int, *, prompt: dict | None, recent: list[dict] | None = None,
          players: list[dict] | None = None) -> dict:
    data = messages.view_data(
        game_id=game.pk, status=game.status, version=game.version, state=GameState.from_json(game.state),
        seat=seat, players=_with_presence(_seated(game.room_id)) if players is None else players, prompt=prompt,
        recent_events=_recent_events(game) if recent is None else recent)
    data["vote"] = _vote(game)
    return data


def roommates_data(*, room_id: int) -> dict | None:
    """Return ROOMMATES data for a room still waiting for its game, else None."""
    room = Room.objects.filter(pk=room_id).first()
    if room is None or room.status != Room.Status.WAITING:
        return None
    seated = _with_presence(_seated(room_id))
    return {"players": seated, "needed": room.num_of_players - len(seated)}


def roommates_frame(*, room_id: int, reply_to: int | None = None) -> dict:
    """Return a ROOMMATES frame, also once the game has begun (then nobody is needed)."""
    data = roommates_data(room_id=room_id)
    if data is None:
        data = {"players": _with_presence(_seated(room_id)), "needed": 0}
    return messages.roommates_frame(data, reply_to)


def game_status(*, room_id: int, seat: int, reply_to: int | None = None) -> dict:
    """Return the GAME_STATUS frame: `seat`'s view with its latest msg_id (no msg_id is used up)."""
    game = Game.objects.filter(room_id=room_id).first()
    if game is None:
        raise ProtocolError(ErrorCode.GAME_NOT_STARTED)
    info = game.seats[seat]
    return messages.view_frame(ServerCmd.GAME_STATUS, _view(game, seat, prompt=info["prompt"]),
                               info["msg_id"], reply_to)


# --- Writing: the one path every change takes ------------------------------------------------


def _robots(game: Game | None, seated: list[dict]) -> set[int]:
    """Return the seats the computer strategy answers for: computers, and away seats on autoplay."""
    robots = {p["seat"] for p in seated if p["is_computer"]}
    if game is not None:
        robots.update(seat for seat, info in enumerate(game.seats) if info.get("autoplay"))
    return robots


def _computers_play(state: GameState, events: list[dict], robots: set[int]) -> GameState:
    """Let computer (and autoplayed) seats answer until a human must (R17); append their events to `events`."""
    strategy = STRATEGIES["computer"]
    while state.awaiting is not None and state.awaiting["seat"] in robots:
        seat = state.awaiting["seat"]
        state, more = apply(state, seat, strategy(view(state, seat), computer_rng(state, seat)))
        events.extend(more)
    return state


def _publish(game: Game, seated: list[dict], events: list[dict], *, top: int, state: GameState | None = None,
             lead: dict[int, str] | None = None, skip_seat: int | None = None, moved: bool = True,
             tail: dict[int, Callable[[int], dict]] | None = None, also: tuple[str, ...] = ()) -> None:
    """Number and queue every seat's frames for `events`, log them, and save the game row.

    With `state`, every seat's pending prompt is replaced by its decision in the new state
    (new msg_ids); without it (chat, presence, leaving) prompts stay. `moved` says whether
    `state` is a new position (saved, version bumped) or the same one prompted again (a
    resume). `lead` gives seats a first frame (the view of GAME_BEGIN); `skip_seat` hears none
    of the events; `tail` gives seats a last frame, built from its msg_id (LEAVE_REP,
    CREATE_A_COMPUTER). `also` names more game fields to save. Must run inside the caller's
    transaction, the game row locked.
    """
    names = [p["name"] for p in seated]
    outcome = state.outcome.to_json() if state is not None and state.outcome else None
    batch = messages.EventFrames(events, names, top, outcome)
    for seat, info in enumerate(game.seats):
        msg_id = info["msg_id"]
        frames = []
        if lead and seat in lead:
            msg_id += 1
            frames.append(messages.view_frame(ServerCmd.GAME_BEGIN, lead[seat], msg_id))
        if seat != skip_seat:
            more, msg_id = batch.for_seat(seat, msg_id)
            frames.extend(more)
        if state is not None:
            if info["prompt"] is not None:
                info["past"].append(info["prompt"]["msg_id"])
                info["prompt"] = None
            payload = messages.new_prompt(state, seat, names)
            if payload is not None:
                msg_id += 1
                info["prompt"] = {"msg_id": msg_id, "payload": payload}
                frames.append(messages.prompt_frame(info["prompt"]))
        if tail and seat in tail:
            msg_id += 1
            frames.append(tail[seat](msg_id))
        info["msg_id"] = msg_id
        if frames and not seated[seat]["is_computer"]:
            send_on_commit(seat_group(game.room_id, seat), {"type": "seat.frames", "frames": frames})
    moved = state is not None and moved
    GameEvent.objects.bulk_create(
        GameEvent(game=game, seq=game.event_count + k, version=game.version + moved, data=shown)
        for k, shown in enumerate(batch.public))
    game.event_count += len(events)
    fields = ["seats", "event_count", "updated", *also]
    if state is not None:
        _wait_schedule(game, seated, state)
    if moved:
        game.state = state.to_json()
        game.version += 1
        fields += ["state", "version"]
        if state.outcome is not None:
            game.status = Game.Status.FINISHED
            fields.append("status")
            Room.objects.filter(pk=game.room_id).update(status=Room.Status.FINISHED)
    game.save(update_fields=fields)


def _locked_game(room_id: int) -> Game:
    game = Game.objects.select_for_update().filter(room_id=room_id).first()
    if game is None:
        raise ProtocolError(ErrorCode.GAME_NOT_STARTED)
    return game


def game_begin_if_ready(*, room_id: int) -> bool:
    """Begin the room's game if every seat is taken and every human is connected; say whether.

    Locks the room row (SELECT … FOR UPDATE), so of several processes whose connections
    complete the room at once exactly one begins the game (the Game's unique room backs it up).
    """
    with transaction.atomic():
        room = Room.objects.select_for_update().filter(pk=room_id).first()
        if room is None or room.status != Room.Status.WAITING:
            return False
        seated = _seated(room_id)
        if len(seated) < room.num_of_players:
            return False
        if not all(p["is_computer"] or player_is_connected(player_id=p["player_id"]) for p in seated):
            return False
        seed = settings.GAME_SEED if settings.GAME_SEED is not None else secrets.randbits(63)
        dealt, events = new_game(room.num_of_players, seed, settings.MAX_TURNS)
        state = _computers_play(dealt, events, _robots(None, seated))
        game = Game.objects.create(room=room, seed=seed, state=dealt.to_json(), version=0,
                                   seats=[{"msg_id": 0, "prompt": None, "past": []} for _ in seated])
        players = _with_presence(seated)
        lead = {p["seat"]: messages.view_data(game_id=game.pk, status=game.status, version=0, state=dealt,
                                              seat=p["seat"], players=players, prompt=None, recent_events=[])
                for p in seated}
        room.status = Room.Status.PLAYING
        room.save(update_fields=["status", "updated"])
        _publish(game, seated, events, top=dealt.top_card, state=state, lead=lead)
        return True


def game_answer(*, room_id: int, seat: int, payload: dict) -> None:
    """Apply `seat`'s answer (a GAME_MESSAGE payload) to its pending prompt, then let computers play on.

    Checks in PROTOCOL.md's order: GAME_NOT_STARTED, GAME_PAUSED, (NO_PENDING_PROMPT once the
    game is over), STALE_PROMPT, NOT_YOUR_TURN, INVALID, NOT_IN_HAND. Locks the game row.
    """
    with transaction.atomic():
        game = _locked_game(room_id)
        if game.status == Game.Status.PAUSED:
            raise ProtocolError(ErrorCode.GAME_PAUSED)
        if game.status != Game.Status.PLAYING:
            raise ProtocolError(ErrorCode.NO_PENDING_PROMPT, detail="the game is over")
        reply_to, data = clean_game_message(payload)
        info = game.seats[seat]
        pending = info["prompt"]
        if pending is None:
            if reply_to in info["past"]:
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
        seated = _seated(room_id)
        new_state = _computers_play(new_state, events, _robots(game, seated))
        _publish(game, seated, events, top=state.top_card, state=new_state)


def game_chat(*, room_id: int, seat: int, payload: dict) -> None:
    """Broadcast a `chat` event from `seat` in a running game. Locks the game row."""
    with transaction.atomic():
        game = _locked_game(room_id)
        if game.status not in RUNNING:
            raise ProtocolError(ErrorCode.NO_PENDING_PROMPT, detail="the game is over")
        text = clean_chat(payload)
        seated = _seated(room_id)
        event = {"event": "chat", "seat": seat, "name": seated[seat]["name"], "text": text}
        _publish(game, seated, [event], top=game.state["pile"][-1])


def game_presence(*, room_id: int, seat: int, event: str) -> bool:
    """Tell the other seats of a running game that `seat` went away or came back; say whether.

    `event` is "disconnected" or "reconnected". The seat itself hears nothing (its next
    snapshot shows it). A seat that goes away while it must act gets its AWAY_WAIT; one that
    goes away during a pause counts as choosing the computer, or, if it asked to leave, as
    leaving (PROTOCOL.md "Leaving a game" 4 and 7). Seats that left, and computers, are
    ignored. Locks the game row.
    """
    with transaction.atomic():
        game = Game.objects.select_for_update().filter(room_id=room_id, status__in=RUNNING).first()
        if game is None:
            return False
        seated = _seated(room_id)
        pause = game.pause or {}
        if seated[seat]["is_computer"] or seat in pause.get("vacant", ()):
            return False
        info = game.seats[seat]
        if event == "reconnected":
            info.pop("away", None)
            info.pop("autoplay", None)
        else:
            info["away"] = True
        if event == "disconnected" and seat in pause.get("leaving", ()):
            _seat_vacate(game, seated, seat)
            _vote_settle(game, seated)
            return True
        if event == "disconnected" and seat in pause.get("waiting_for", ()):
            pause["waiting_for"].remove(seat)
        _publish(game, seated, [{"event": event, "seat": seat}], top=game.state["pile"][-1], skip_seat=seat,
                 also=("pause",))
        if event == "disconnected" and game.status == Game.Status.PLAYING and info["prompt"] is not None:
            _deadline_for_prompt(game, seated, seat, AWAY_WAIT_KIND, settings.AWAY_WAIT)
        if game.pause:
            _vote_settle(game, seated)
        return True


# --- Absence: AWAY_WAIT, autoplay, TURN_TIMEOUT (PROTOCOL.md "Absence") ----------------------


def _deadline_for_prompt(game: Game, seated: list[dict], seat: int, kind: str, seconds: float) -> None:
    """Schedule `kind` for `seat`'s current prompt: it fires only if that prompt is still pending."""
    deadline_schedule(kind=kind, due_at=timezone.now() + timedelta(seconds=seconds), room_id=game.room_id,
                      player_id=seated[seat]["player_id"],
                      data={"seat": seat, "msg_id": game.seats[seat]["prompt"]["msg_id"]})


def _wait_schedule(game: Game, seated: list[dict], state: GameState) -> None:
    """Start the wait of the human who must act now, if any applies; no query otherwise.

    An away seat waits AWAY_WAIT seconds before the computer acts for it; with TURN_TIMEOUT
    on, a present one waits that long before the computer acts for it once.
    """
    if state.awaiting is None:
        return
    seat = state.awaiting["seat"]
    info = game.seats[seat]
    if info["prompt"] is None or seated[seat]["is_computer"] or info.get("autoplay"):
        return
    if info.get("away"):
        _deadline_for_prompt(game, seated, seat, AWAY_WAIT_KIND, settings.AWAY_WAIT)
    elif settings.TURN_TIMEOUT > 0:
        _deadline_for_prompt(game, seated, seat, TURN_TIMEOUT_KIND, settings.TURN_TIMEOUT)


def seat_act_for(*, room_id: int, seat: int, msg_id: int, away: bool) -> bool:
    """Let the computer strategy answer `seat`'s prompt `msg_id` if it is still pending; say whether.

    `away` (AWAY_WAIT): the seat must still be away, and the computer goes on acting for it
    until it comes back. Otherwise (TURN_TIMEOUT) it acts once. Either way the others hear
    `autoplay`, then the seat's answer and any computer turns after it. Locks the game row.
    """
    with transaction.atomic():
        game = Game.objects.select_for_update().filter(room_id=room_id, status=Game.Status.PLAYING).first()
        if game is None:
            return False
        info = game.seats[seat]
        if info["prompt"] is None or info["prompt"]["msg_id"] != msg_id or (away and not info.get("away")):
            return False
        seated = _seated(room_id)
        if seated[seat]["is_computer"]:
            return False
        if away:
            info["autoplay"] = True
        state = GameState.from_json(game.state)
        events = [{"event": "autoplay", "seat": seat}]
        strategy = STRATEGIES["computer"]
        new_state, more = apply(state, seat, strategy(view(state, seat), computer_rng(state, seat)))
        events.extend(more)
        new_state = _computers_play(new_state, events, _robots(game, seated))
        _publish(game, seated, events, top=state.top_card, state=new_state)
        return True


@deadline_handler(AWAY_WAIT_KIND)
def _away_wait(deadline) -> None:
    seat_act_for(room_id=deadline.room_id, seat=deadline.data["seat"], msg_id=deadline.data["msg_id"], away=True)


@deadline_handler(TURN_TIMEOUT_KIND)
def _turn_timeout(deadline) -> None:
    seat_act_for(room_id=deadline.room_id, seat=deadline.data["seat"], msg_id=deadline.data["msg_id"], away=False)


@on_seat_gone
def _seat_gone(player: Player) -> None:
    """The clock's sweep found a seat's last connection dead (its process was killed)."""
    game_presence(room_id=player.room_id, seat=player.seat, event="disconnected")


# --- Leaving a game (PROTOCOL.md "Leaving a game") ----------------------------------------


def _players_json(seated: list[dict]) -> list[dict]:
    return [{"seat": p["seat"], "name": p["name"], "is_computer": p["is_computer"]} for p in seated]


def _save_state(game: Game, seated: list[dict], reason: str) -> SavedGameState:
    return SavedGameState.objects.create(game=game, room_id=game.room_id, reason=reason, version=game.version,
                                         players=_players_json(seated), state=game.state)


def _remaining(game: Game, seated: list[dict]) -> list[int]:
    """Return the human seats that neither left nor asked to leave."""
    pause = game.pause
    return [p["seat"] for p in seated if not p["is_computer"]
            and p["seat"] not in pause["vacant"] and p["seat"] not in pause["leaving"]]


def _vote_restart(game: Game, seated: list[dict]) -> None:
    """Ask every remaining present human again, and restart VOTE_TIMEOUT (a new leave restarts the vote)."""
    pause = game.pause
    pause["waiting_for"] = ([s for s in _remaining(game, seated) if not game.seats[s].get("away")]
                            if pause["vacant"] else [])
    deadline_cancel(kind=VOTE_TIMEOUT_KIND, room_id=game.room_id)
    deadline_schedule(kind=VOTE_TIMEOUT_KIND, due_at=timezone.now() + timedelta(seconds=settings.VOTE_TIMEOUT),
                      room_id=game.room_id)


def _player_states(game: Game, seated: list[dict], seats: list[int]) -> None:
    """Queue PLAYER_STATE (the seat's view, no msg_id used up) to each of `seats`."""
    players = _with_presence(seated)
    recent = _recent_events(game)
    for seat in seats:
        info = game.seats[seat]
        data = _view(game, seat, prompt=None, recent=recent, players=players)
        send_on_commit(seat_group(game.room_id, seat), {"type": "seat.frames", "frames": [
            messages.view_frame(ServerCmd.PLAYER_STATE, data, info["msg_id"])]})


def _seat_vacate(game: Game, seated: list[dict], seat: int) -> None:
    """Make a leaving seat vacant: it gets LEAVE_REP, the others `left`, the remaining humans CREATE_A_COMPUTER."""
    pause = game.pause
    pause["leaving"].remove(seat)
    pause["vacant"].append(seat)
    top = game.state["pile"][-1]
    name = seated[seat]["name"]
    tail = {seat: lambda msg_id: messages.leave_rep_frame(seat=seat, top=top, msg_id=msg_id)}
    for other in _remaining(game, seated):
        tail[other] = lambda msg_id: messages.create_a_computer_frame(seat=seat, name=name, top=top, msg_id=msg_id)
    _vote_restart(game, seated)
    _publish(game, seated, [{"event": "left", "seat": seat, "name": name}], top=top, skip_seat=seat,
             tail=tail, also=("pause",))


def _vote_settle(game: Game, seated: list[dict]) -> None:
    """End the pause once nobody is leaving and every remaining human has chosen.

    With a human left, computers take the vacant seats and play resumes; with none, the game
    is saved as abandoned and the room closed.
    """
    pause = game.pause
    if pause["leaving"] or pause["waiting_for"]:
        return
    deadline_cancel(kind=VOTE_TIMEOUT_KIND, room_id=game.room_id)
    if not _remaining(game, seated):
        game.status = Game.Status.ABANDONED
        game.pause = None
        game.save(update_fields=["status", "pause", "updated"])
        _save_state(game, seated, SavedGameState.Reason.ABANDONED)
        room_close(room_id=game.room_id)
        return
    events = []
    taken = {p["name"].casefold() for p in seated}
    for seat in sorted(pause["vacant"]):
        left_name = seated[seat]["name"]
        name = computer_name_free(taken)
        taken.add(name.casefold())
        Player.objects.filter(pk=seated[seat]["player_id"]).update(
            is_computer=True, name=name, name_key=name.casefold(), connected=False)
        seated[seat] = {**seated[seat], "is_computer": True, "name": name}
        info = game.seats[seat]
        info["human"] = {"name": left_name}
        info.pop("away", None)
        info.pop("autoplay", None)
        events.append({"event": "computer_joined", "seat": seat, "name": left_name})
    state = GameState.from_json(game.state)
    events.append({"event": "resumed", "seat": state.awaiting["seat"]})
    game.status = Game.Status.PLAYING
    game.pause = None
    Room.objects.filter(pk=game.room_id).update(status=Room.Status.PLAYING, updated=timezone.now())
    new_state = _computers_play(state, events, _robots(game, seated))
    _publish(game, seated, events, top=state.top_card, state=new_state, moved=new_state is not state,
             also=("status", "pause"))
    send_on_commit(room_group(game.room_id), {"type": "roommates.changed"})


def game_leave_request(*, room_id: int, seat: int, player_id: int) -> None:
    """Start `seat`'s leave (LEAVE_REQUEST): pause and save the game, or free the seat before it begins.

    In a running game: the pending prompts are cancelled, every seat hears `paused`, every
    human gets PLAYER_STATE, and a vote already running starts again. Before the game:
    the seat is freed and its connections get LEAVE_REP (msg_id null). Locks the game row
    (the room row before the game).
    """
    with transaction.atomic():
        game = Game.objects.select_for_update().filter(room_id=room_id).first()
        if game is None:
            if not seat_free(player_id=player_id):
                raise ProtocolError(ErrorCode.NO_PENDING_PROMPT, detail="the room is not waiting")
            send_on_commit(seat_group(room_id, seat), {"type": "seat.frames",
                                                       "frames": [messages.leave_rep_frame(seat=seat)]})
            return
        if game.status not in RUNNING:
            raise ProtocolError(ErrorCode.NO_PENDING_PROMPT, detail="the game is over")
        seated = _seated(room_id)
        if game.status == Game.Status.PLAYING:
            for info in game.seats:
                if info["prompt"] is not None:
                    info["past"].append(info["prompt"]["msg_id"])
                    info["prompt"] = None
            game.status = Game.Status.PAUSED
            game.pause = {"leaving": [], "vacant": [], "waiting_for": [], "saved": None}
            Room.objects.filter(pk=room_id).update(status=Room.Status.PAUSED, updated=timezone.now())
        pause = game.pause
        if seat in pause["vacant"]:
            raise ProtocolError(ErrorCode.NO_PENDING_PROMPT, detail="you have left")
        if seat not in pause["leaving"]:
            pause["leaving"].append(seat)
            pause["saved"] = _save_state(game, seated, SavedGameState.Reason.LEAVE).pk
            _vote_restart(game, seated)
            _publish(game, seated, [{"event": "paused", "seat": seat}], top=game.state["pile"][-1],
                     also=("status", "pause"))
            _player_states(game, seated, _remaining(game, seated) + pause["leaving"])
        else:  # asked again: the state once more, for a client that lost it
            _player_states(game, seated, [seat])


def game_leave(*, room_id: int, seat: int) -> None:
    """Leave for good after LEAVE_REQUEST (LEAVE): the seat becomes vacant. Locks the game row."""
    with transaction.atomic():
        game = _locked_game(room_id)
        if game.status != Game.Status.PAUSED or seat not in game.pause["leaving"]:
            raise ProtocolError(ErrorCode.NO_PENDING_PROMPT, detail="send LEAVE_REQUEST first")
        seated = _seated(room_id)
        _seat_vacate(game, seated, seat)
        _vote_settle(game, seated)


def game_add_computer(*, room_id: int, seat: int) -> None:
    """Record `seat`'s yes to computers in the vacant seats (ADD_COMPUTER). Locks the game row."""
    with transaction.atomic():
        game = _locked_game(room_id)
        if game.status != Game.Status.PAUSED or seat not in game.pause["waiting_for"]:
            raise ProtocolError(ErrorCode.NO_PENDING_PROMPT, detail="no vote is waiting for you")
        game.pause["waiting_for"].remove(seat)
        game.save(update_fields=["pause", "updated"])
        _vote_settle(game, _seated(room_id))


def vote_expire(*, room_id: int) -> bool:
    """End a vote at VOTE_TIMEOUT: whoever asked to leave leaves, the silent choose the computer.

    Locks the game row.
    """
    with transaction.atomic():
        game = Game.objects.select_for_update().filter(room_id=room_id, status=Game.Status.PAUSED).first()
        if game is None:
            return False
        seated = _seated(room_id)
        for seat in list(game.pause["leaving"]):
            _seat_vacate(game, seated, seat)
        game.pause["waiting_for"] = []
        game.save(update_fields=["pause", "updated"])
        _vote_settle(game, seated)
        return True


@deadline_handler(VOTE_TIMEOUT_KIND)
def _vote_timeout(deadline) -> None:
    vote_expire(room_id=deadline.room_id)


# --- Connections ----------------------------------------------------------------------------


def seat_authenticate(*, room_id: int, token: str) -> dict:
    """Return the seat {"player_id", "seat", "name"} that `token` opens in the room, or raise UNAUTHORIZED.

    A seat a computer took from a player who left opens again, once the game plays on, with
    that player's token; it does not during the pause or after the game.
    """
    player = (Player.objects.select_related("room")
              .filter(room_id=room_id, token_hash=token_hash(token)).first())
    if player is None or player.room.status == Room.Status.CLOSED:
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "token")
    if player.is_computer or player.room.status == Room.Status.PAUSED:
        game = Game.objects.filter(room_id=room_id).first()
        info = game.seats[player.seat] if game is not None else {}
        if player.is_computer and (game.status != Game.Status.PLAYING or "human" not in info):
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "token", "the seat is not yours now")
        if game.status == Game.Status.PAUSED and player.seat in game.pause["vacant"]:
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "token", "you left the game")
    return {"player_id": player.pk, "seat": player.seat, "name": player.name}


def seat_reclaim(*, room_id: int, player_id: int) -> None:
    """Give a seat a computer took back to the person who left it (`reclaimed`). Locks the game row."""
    with transaction.atomic():
        game = Game.objects.select_for_update().filter(room_id=room_id, status=Game.Status.PLAYING).first()
        player = Player.objects.get(pk=player_id)
        if game is None or "human" not in game.seats[player.seat]:
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "token", "the seat is not yours now")
        name = game.seats[player.seat].pop("human")["name"]
        Player.objects.filter(pk=player_id).update(is_computer=False, name=name, name_key=name.casefold())
        _publish(game, _seated(room_id), [{"event": "reclaimed", "seat": player.seat}],
                 top=game.state["pile"][-1], skip_seat=player.seat)


def seat_connect(*, room_id: int, player_id: int, channel_name: str) -> dict:
    """Open a game connection for an authenticated seat; return {"frames", "waiting"}.

    Before the game: CONNECTED and ROOMMATES, the room hears of it, and the game begins if
    this connection completes the room (GAME_BEGIN goes to the seat groups after commit).
    During it: CONNECTED and RESUME, and the others hear `reconnected` if the seat was away,
    or `reclaimed` if a computer held it since its player left.
    """
    reclaiming = Player.objects.filter(pk=player_id, is_computer=True).exists()
    if reclaiming:
        seat_reclaim(room_id=room_id, player_id=player_id)
    was_connected = reclaiming or player_is_connected(player_id=player_id)
    connection_open(channel_name=channel_name, kind="game", player_id=player_id)
    player = Player.objects.select_related("room").get(pk=player_id)
    frames = [messages.connected_frame(room_data(player.room), player_data(player))]
    game = Game.objects.filter(room_id=room_id).first()
    if game is None:
        frames.append(roommates_frame(room_id=room_id))
        if game_begin_if_ready(room_id=room_id):
            return {"frames": frames, "waiting": False}
        send_on_commit(room_group(room_id), {"type": "roommates.changed"})
        return {"frames": frames, "waiting": True}
    if not was_connected or game.seats[player.seat].get("away"):
        game_presence(room_id=room_id, seat=player.seat, event="reconnected")
        game.refresh_from_db()
    info = game.seats[player.seat]
    resume = _view(game, player.seat, prompt=info["prompt"])
    frames.append(messages.view_frame(ServerCmd.RESUME, resume, info["msg_id"]))
    return {"frames": frames, "waiting": False}


def seat_disconnect(*, room_id: int, channel_name: str) -> None:
    """Close a game connection; if its seat has none left in a running game, tell the others."""
    player = connection_close(channel_name=channel_name)
    if player is not None:
        game_presence(room_id=room_id, seat=player.seat, event="disconnected")
