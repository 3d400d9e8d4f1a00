"""Each seat's frames on the game socket, built from the engine's events and views.

Nothing here touches the database: the services hand in the engine's events (with the
drawers' private cards), the seats' names and counters, and get back ready frames. Secrets
are stripped by the engine's `event_for_seat`/`public_event`/`view`, never here; this module
only decides which of those forms each seat gets and in what order (docs/protocol.md "Events",
"Draw notices", "Prompts", "Message ids").
"""

from __future__ import annotations

from game.engine import WIRE, GameState, prompt_for, public_event, view
from lobby_site.wire import Flag, ServerCmd, frame

RECENT_EVENTS = 20  # docs/protocol.md "View": recent_events holds the last 20 events
DRAW_NEXT_CMD = {1: "PICK_ONE", 2: "PICK_TWO"}  # more cards: PICK_CARDS
PROMPT_NEXT_CMD = {"turn": "PICK_CARDS", "name": "PICK_OPTION", "give": "PICK_CARDS", "discard": "PICK_CARDS"}
PROMPT_RETURN_TYPE = {"turn": "LIST", "name": "STR", "give": "LIST", "discard": "LIST"}
DRAW_REASON_TEXT = {
    "draw": "from the market", "pick": "to take the pick total", "wrong_play": "as the penalty for a wrong play",
    "last_card": "for not calling last card", "question": "holding nothing the question asked for",
    "combination": "because of a combination",
}


# --- Words ----------------------------------------------------------------------------------


def card_text(card: dict) -> str:
    """Return a wire card in words: "blue cross", "green question"."""
    face = card.get("shape") or card["symbol"].replace("_", " ")
    return f"{card['colour']} {face}"


def cards_text(cards: list[dict]) -> str:
    return ", ".join(card_text(c) for c in cards) or "no cards"


def _plural(count: int, word: str = "card") -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _asked(question: dict) -> str:
    return question.get("colour") or question.get("shape")


def event_text(event: dict, names: list[str]) -> str:
    """Return the sentence shown for a public event (`event` in its wire form)."""
    kind = event["event"]
    who = names[event["seat"]] if "seat" in event and 0 <= event["seat"] < len(names) else "Someone"
    texts = {
        "turn": lambda: f"It is {who}'s turn.",
        "played": lambda: f"{who} played {cards_text(event['cards'])}.",
        "drew": lambda: f"{who} drew {_plural(event['count'])} {DRAW_REASON_TEXT.get(event['reason'], '')}.",
        "penalty": lambda: (f"{who} did not call last card and is punished." if event["reason"] == "last_card"
                            else f"{who} made a wrong play and is punished."),
        "pick_pending": lambda: (f"{who} must answer the {event['symbol'].replace('_', ' ')} total of "
                                 f"{event['total']} or take it."),
        "skipped": lambda: f"{who} is skipped.",
        "question": lambda: f"{who} asks for {_asked(event)}.",
        "gave": lambda: f"{who} gave {card_text(event['card'])}.",
        "lost_special": lambda: f"{who} lost {card_text(event['card'])}.",
        "discarded": lambda: f"{who} discarded {cards_text(event['cards'])}.",
        "last_card": lambda: f"{who} called last card.",
        "reshuffled": lambda: f"The pile was shuffled into the market ({_plural(event['count'])}).",
        "chat": lambda: f"{event.get('name', who)}: {event.get('text', '')}",
        "game_over": lambda: f"{names[event['winner']]} wins the game.",
        "disconnected": lambda: f"{who} lost the connection.",
        "reconnected": lambda: f"{who} is back.",
        "autoplay": lambda: f"The computer plays for {who}.",
        "paused": lambda: f"{who} wants to leave: the game is paused.",
        "left": lambda: f"{event.get('name', who)} left the game.",
        "computer_joined": lambda: f"{who} takes {event['name']}'s seat." if "name" in event
        else f"A computer takes {who}'s seat.",
        "reclaimed": lambda: f"{who} is back in their seat.",
        "resumed": lambda: "The game goes on.",
        "spectators": lambda: f"{_plural(event['count'], 'spectator')} watching.",
        "begin": lambda: (f"The game begins: {', '.join(p['name'] for p in event['players'])}; "
                          f"the start card is {card_text(event['top_card'])}."),
    }
    return texts[kind]() if kind in texts else f"{kind.replace('_', ' ').capitalize()}."


# --- Events ----------------------------------------------------------------------------------


def public_form(event: dict) -> dict:
    """Return an engine event as every seat and the event log see it.

    A penalty's `detail` may name the cards of a wrong play, which went back into the hand,
    so only the punished seat gets it (docs/protocol.md "Game handler").
    """
    shown = public_event(event)
    shown.pop("detail", None)
    return shown


def top_after(event: dict, top: int) -> int:
    """Return the top card's id after `event` (an engine event, ids not wire cards)."""
    kind = event["event"]
    if kind in ("played", "discarded") and event["cards"]:
        return event["cards"][-1]
    if kind in ("gave", "lost_special"):
        return event["card"]
    return top


def _event_base(shown: dict, names: list[str], top: int) -> dict:
    return frame(ServerCmd.GAME_EVENT, event_text(shown, names), data=shown, top_card=WIRE[top])


def _draw_notice(event: dict, top: int, msg_id: int) -> dict:
    cards = [WIRE[c] for c in event["cards"]]
    reason = DRAW_REASON_TEXT.get(event["reason"], "")
    return frame(ServerCmd.GAME_MESSAGE_REP, f"You drew {cards_text(cards)} {reason}.",
                 data={"reason": event["reason"]}, next_cmd=DRAW_NEXT_CMD.get(len(cards), "PICK_CARDS"),
                 flag=Flag.GAME_CONTINUE, extra_data=cards, top_card=WIRE[top], msg_id=msg_id)


def game_over_frame(outcome: dict, names: list[str], top: int, msg_id: int) -> dict:
    ranking = [{"seat": r["seat"], "name": names[r["seat"]], "cards_left": r["cards_left"]}
               for r in outcome["ranking"]]
    return frame(ServerCmd.GAME_OVER, f"Game over: {names[outcome['winner']]} wins.",
                 data={"winner": outcome["winner"], "ranking": ranking}, top_card=WIRE[top], msg_id=msg_id)


class EventFrames:
    """The frames a batch of engine events makes, built once and numbered per seat.

    Every seat gets every public event; the drawer also gets a draw notice before its
    `drew` event, and a punished seat its penalty's detail.
    """

    def __init__(self, events: list[dict], names: list[str], top: int, outcome: dict | None):
        self.events = events
        self.names = names
        self.outcome = outcome
        self.public = [public_form(e) for e in events]
        self.tops = []
        for event in events:
            top = top_after(event, top)
            self.tops.append(top)
        self.top = top
        self.bases = [_event_base(shown, names, t) for shown, t in zip(self.public, self.tops)]

    def for_watch(self, number: int) -> list[dict]:
        """Return the spectators' frames numbered after `number` (the public events before them).

        The spectator stream numbers public events by their place in the game's log, so
        every spectator gets the same numbers; GAME_OVER follows `game_over` with the next.
        """
        frames = []
        for event, base, top in zip(self.events, self.bases, self.tops):
            number += 1
            frames.append({**base, "msg_id": number})
            if event["event"] == "game_over" and self.outcome:
                number += 1
                frames.append(game_over_frame(self.outcome, self.names, top, number))
        return frames

    def for_seat(self, seat: int, msg_id: int) -> tuple[list[dict], int]:
        """Return `seat`'s frames numbered after `msg_id`, and its last msg_id."""
        frames = []
        for event, shown, base, top in zip(self.events, self.public, self.bases, self.tops):
            kind, mine = event["event"], event.get("seat") == seat
            if kind == "drew" and mine and event["cards"]:
                msg_id += 1
                frames.append(_draw_notice(event, top, msg_id))
            msg_id += 1
            if kind == "penalty" and mine:
                detailed = {**shown, "detail": event["detail"]}
                text = f"{event_text(shown, self.names)[:-1]}: {event['detail']}."
                frames.append(frame(ServerCmd.GAME_EVENT, text, data=detailed, top_card=WIRE[top], msg_id=msg_id))
            else:
                frames.append({**base, "msg_id": msg_id})
            if kind == "game_over" and self.outcome:
                msg_id += 1
                frames.append(game_over_frame(self.outcome, self.names, top, msg_id))
        return frames, msg_id


# --- Prompts ---------------------------------------------------------------------------------


def _prompt_text(prompt: dict, names: list[str], top: int) -> str:
    kind = prompt["kind"]
    if kind == "turn":
        pick = prompt["pending_pick"]
        if pick:
            symbol = pick["symbol"].replace("_", " ")
            return (f"Your turn: answer the {symbol} total of {pick['total']} with {symbol} cards, "
                    f"or take {_plural(pick['total'])}.")
        return f"Your turn: play on {card_text(WIRE[top])}, or draw a card."
    if kind == "name":
        return "Name a colour or a shape for your question."
    if kind == "give":
        question = prompt["question"]
        return f"{names[question['seat']]} asks for {_asked(question)}: give one of those cards."
    return f"Discard {_plural(prompt['count'])} of your choice."


def prompt_payload(prompt: dict, names: list[str], top: int) -> dict:
    """Return the payload of the prompt frame for an engine prompt (docs/protocol.md "Prompts")."""
    kind = prompt["kind"]
    data = {"kind": kind}
    if kind == "turn":
        data["pending_pick"] = prompt["pending_pick"]
    elif kind == "give":
        data["question"] = prompt["question"]
    elif kind == "discard":
        data["count"] = prompt["count"]
    return frame(ServerCmd.GAME_MESSAGE_REP, _prompt_text(prompt, names, top), data=data,
                 next_cmd=PROMPT_NEXT_CMD[kind], return_type=PROMPT_RETURN_TYPE[kind],
                 flag=Flag.USER_INPUT_CONTINUE, extra_data=prompt["options"], top_card=WIRE[top])["payload"]


def new_prompt(state: GameState, seat: int, names: list[str]) -> dict | None:
    """Return the payload of `seat`'s pending decision in `state`, or None."""
    prompt = prompt_for(state, seat)
    return None if prompt is None else prompt_payload(prompt, names, state.top_card)


def prompt_frame(prompt: dict) -> dict:
    """Return the frame of a stored prompt ({"msg_id", "payload"})."""
    return {"cmd": str(ServerCmd.GAME_MESSAGE_REP), "msg_id": prompt["msg_id"], "reply_to": None,
            "payload": prompt["payload"]}


# --- Snapshots and the waiting room ------------------------------------------------------


def view_data(*, game_id: int, status: str, version: int, state: GameState, seat: int, players: list[dict],
              prompt: dict | None, recent_events: list[dict], chat: list[dict] | None = None,
              spectators: int = 0) -> dict:
    """Return `seat`'s view (docs/protocol.md "View"): the engine's view with names, presence and prompt.

    `players` = [{"seat", "name", "is_computer", "connected"}] in seat order. The log's
    `begin` event is not one of the recent events a table shows.
    """
    data = view(state, seat)
    data["you"]["name"] = players[seat]["name"]
    data["players"] = [{**p, "cards_left": len(state.hands[p["seat"]])} for p in players]
    data.update(game_id=game_id, status=status, version=version, prompt=prompt, vote=None,
                recent_events=[e for e in recent_events if e["event"] != "begin"][-RECENT_EVENTS:],
                chat=chat or [], spectators=spectators)
    return data


# --- Spectators and the log's beginning (docs/protocol.md "Spectators", "Replays") ---------


def public_view_data(*, game_id: int, status: str, version: int, state: GameState, players: list[dict],
                     recent_events: list[dict], spectators: int, vote: dict | None = None,
                     chat: list[dict] | None = None) -> dict:
    """Return the public view: a seat's view without `you` and `prompt`, plus `spectators`.

    `chat` is the chat history (game.store.chat_recent); empty at the game's beginning.
    """
    data = view_data(game_id=game_id, status=status, version=version, state=state, seat=0, players=players,
                     prompt=None, recent_events=recent_events, chat=chat, spectators=spectators)
    del data["you"], data["prompt"]
    data["vote"] = vote
    return data


def begin_event(state: GameState, names: list[str], computers: list[bool]) -> dict:
    """Return the log's first event: the table right after the deal, before anyone's turn.

    Seat order, names, hand counts, the start card and the market and pile sizes: enough to
    rebuild the public table from the log alone (game/replay.py).
    """
    return {"event": "begin",
            "players": [{"seat": seat, "name": name, "is_computer": computer, "cards_left": len(state.hands[seat])}
                        for seat, (name, computer) in enumerate(zip(names, computers))],
            "top_card": WIRE[state.top_card], "market_count": len(state.market), "pile_count": len(state.pile)}


WATCH_TEXTS = {ServerCmd.WATCHING: "You are watching this game.", ServerCmd.WATCH_STATUS: "The game as it stands."}


def watch_frame(cmd: ServerCmd, data: dict, msg_id: int, reply_to: int | None = None) -> dict:
    """Return WATCHING or WATCH_STATUS: the public view and the spectator stream's latest msg_id."""
    text = "The game is over." if data["outcome"] else WATCH_TEXTS[cmd]
    return frame(cmd, text, data=data, top_card=data["top_card"], msg_id=msg_id, reply_to=reply_to)


def view_frame(cmd: ServerCmd, data: dict, msg_id: int, reply_to: int | None = None) -> dict:
    texts = {ServerCmd.GAME_BEGIN: "The game begins.", ServerCmd.RESUME: "Welcome back: the game goes on.",
             ServerCmd.GAME_STATUS: "The game as it stands.",
             ServerCmd.PLAYER_STATE: "The game is paused: this is your game as it stands."}
    if data["outcome"]:
        texts[ServerCmd.RESUME] = texts[ServerCmd.GAME_STATUS] = "The game is over."
    return frame(cmd, texts[cmd], data=data, top_card=data["top_card"], msg_id=msg_id, reply_to=reply_to)


def connected_frame(room: dict, player: dict) -> dict:
    return frame(ServerCmd.CONNECTED, f"You sit in seat {player['seat']} of {room['name']}.",
                 data={"room": room, "player": player})


def roommates_frame(roommates: dict, reply_to: int | None = None) -> dict:
    needed = roommates["needed"]
    away = sum(1 for p in roommates["players"] if not p["connected"])
    if needed:
        text = f"Waiting for {_plural(needed, 'more player')}."
    elif away:
        text = f"Waiting for {_plural(away, 'player')} to connect."
    else:
        text = "Everyone is here."
    return frame(ServerCmd.ROOMMATES, text, data=roommates, reply_to=reply_to)


# --- Leaving ---------------------------------------------------------------------------------


def leave_rep_frame(*, seat: int, top: int | None = None, msg_id: int | None = None) -> dict:
    """Return LEAVE_REP: the seat is left (before the game: no msg_id, no top card)."""
    return frame(ServerCmd.LEAVE_REP, "You left the game.", data={"seat": seat},
                 top_card=None if top is None else WIRE[top], msg_id=msg_id)


def create_a_computer_frame(*, seat: int, name: str, top: int, msg_id: int) -> dict:
    """Return CREATE_A_COMPUTER: `name` left `seat`; answer ADD_COMPUTER (or leave too)."""
    return frame(ServerCmd.CREATE_A_COMPUTER, f"{name} left: a computer will take their seat when you agree.",
                 data={"seat": seat, "name": name}, next_cmd="ADD_COMPUTER", top_card=WIRE[top], msg_id=msg_id)


def room_closed_frame(reason: str) -> dict:
    return frame(ServerCmd.ROOM_CLOSED, "An administrator closed this room.", data={"reason": reason})


# --- Rematch (docs/protocol.md "Rematch") ------------------------------------------------------


def rematch_offer_frame(offer: dict, reply_to: int | None = None) -> dict:
    """Return REMATCH_OFFER: `offer["from"]` made the rematch room `offer["room_id"]`; JOIN_REMATCH takes a seat."""
    return frame(ServerCmd.REMATCH_OFFER, f"{offer['from']} offers a rematch.",
                 data={"room_id": offer["room_id"], "from": offer["from"]}, next_cmd="JOIN_REMATCH",
                 reply_to=reply_to)


def watch_moved_frame(room_id: int, asker: str) -> dict:
    """Return WATCH_MOVED: a following watch socket now watches `asker`'s rematch, room `room_id`."""
    return frame(ServerCmd.WATCH_MOVED, f"{asker} made a rematch: you watch it now.",
                 data={"room_id": room_id, "from": asker})


def rematch_joined_frame(room: dict, player: dict, reply_to: int | None = None) -> dict:
    """Return the JOIN_ROOM_REP answering REMATCH or JOIN_REMATCH: the seat in the rematch, with its token."""
    return frame(ServerCmd.JOIN_ROOM_REP, f"You sit in seat {player['seat']} of \"{room['name']}\".",
                 data={"room": room, "player": player}, reply_to=reply_to)
