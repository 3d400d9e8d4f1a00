"""Every change to a game: load → engine → save in one transaction (DESIGN.md "How a move flows").

Each service locks what it changes, stores the state (RNG included), the public event log
and every seat's message counter and pending prompt together, and queues each seat's frames
with `send_on_commit`, so nobody hears of a change that rolled back. Services raise
`ProtocolError` with PROTOCOL.md's codes when a request is refused; a refusal changes nothing.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction

from game import messages
from game.engine import STRATEGIES, GameState, IllegalAction, apply, computer_rng, new_game, view
from game.models import Game, GameEvent
from game.protocol import ErrorCode, ProtocolError, ServerCmd, answer_to_action, clean_chat, clean_game_message
from rooms.models import Player, Room
from rooms.notify import room_group, seat_group, send_on_commit
from rooms.services import connection_close, connection_open, player_by_token, player_data, player_is_connected, room_data

RUNNING = (Game.Status.PLAYING, Game.Status.PAUSED)


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


def _view(game: Game, seat: int, *, prompt: dict | None, recent: list[dict] | None = None) -> dict:
    return messages.view_data(
        game_id=game.pk, status=game.status, version=game.version, state=GameState.from_json(game.state),
        seat=seat, players=_with_presence(_seated(game.room_id)), prompt=prompt,
        recent_events=_recent_events(game) if recent is None else recent)


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


def _computers_play(state: GameState, events: list[dict], seated: list[dict]) -> GameState:
    """Let computer seats answer until a human must (R17); append their events to `events`."""
    strategy = STRATEGIES["computer"]
    while state.awaiting is not None and seated[state.awaiting["seat"]]["is_computer"]:
        seat = state.awaiting["seat"]
        state, more = apply(state, seat, strategy(view(state, seat), computer_rng(state, seat)))
        events.extend(more)
    return state


def _publish(game: Game, seated: list[dict], events: list[dict], *, top: int, state: GameState | None = None,
             lead: dict[int, str] | None = None, skip_seat: int | None = None) -> None:
    """Number and queue every seat's frames for `events`, log them, and save the game row.

    With `state` (a move), every seat's pending prompt is replaced by its decision in the new
    state; without it (chat, presence) prompts stay. `lead` gives seats a first frame (the
    view of GAME_BEGIN). Must run inside the caller's transaction, the game row locked.
    """
    names = [p["name"] for p in seated]
    outcome = state.outcome.to_json() if state is not None and state.outcome else None
    batch = messages.EventFrames(events, names, top, outcome)
    for seat, info in enumerate(game.seats):
        if seat == skip_seat:
            continue
        msg_id = info["msg_id"]
        frames = []
        if lead and seat in lead:
            msg_id += 1
            frames.append(messages.view_frame(ServerCmd.GAME_BEGIN, lead[seat], msg_id))
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
        info["msg_id"] = msg_id
        if frames and not seated[seat]["is_computer"]:
            send_on_commit(seat_group(game.room_id, seat), {"type": "seat.frames", "frames": frames})
    GameEvent.objects.bulk_create(
        GameEvent(game=game, seq=game.event_count + k, version=game.version + (state is not None), data=shown)
        for k, shown in enumerate(batch.public))
    game.event_count += len(events)
    fields = ["seats", "event_count", "updated"]
    if state is not None:
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
        state = _computers_play(dealt, events, seated)
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
        new_state = _computers_play(new_state, events, seated)
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
    snapshot shows it). Locks the game row.
    """
    with transaction.atomic():
        game = Game.objects.select_for_update().filter(room_id=room_id, status__in=RUNNING).first()
        if game is None:
            return False
        _publish(game, _seated(room_id), [{"event": event, "seat": seat}], top=game.state["pile"][-1],
                 skip_seat=seat)
        return True


# --- Connections ----------------------------------------------------------------------------


def seat_authenticate(*, room_id: int, token: str) -> dict:
    """Return the seat {"player_id", "seat", "name"} that `token` opens in the room, or raise UNAUTHORIZED."""
    player = player_by_token(room_id=room_id, token=token)
    if player is None or player.room.status == Room.Status.CLOSED:
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "token")
    return {"player_id": player.pk, "seat": player.seat, "name": player.name}


def seat_connect(*, room_id: int, player_id: int, channel_name: str) -> dict:
    """Open a game connection for an authenticated seat; return {"frames", "waiting"}.

    Before the game: CONNECTED and ROOMMATES, the room hears of it, and the game begins if
    this connection completes the room (GAME_BEGIN goes to the seat groups after commit).
    During it: CONNECTED and RESUME, and the others hear `reconnected` if the seat was away.
    """
    was_connected = player_is_connected(player_id=player_id)
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
    if not was_connected:
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
