"""What one seat may see: the one place where secrets are stripped.

Every message to a seat is built from `view(state, seat)` and `events_for_seat(events,
seat)`: no other seat's hand, and no card another seat drew, ever leaves through them.
Cards come out in their wire form (docs/protocol.md).
"""

from __future__ import annotations

from .cards import WIRE
from .rules import NAME_OPTIONS, give_options, starting_cards
from .state import GameState

# Event fields that hold card ids, turned into card objects for the wire.
_CARD_LIST_FIELDS = ("cards",)
_CARD_FIELDS = ("card",)


def prompt_for(state: GameState, seat: int) -> dict | None:
    """Return the decision `seat` owes now, with its options, or None."""
    awaiting = state.awaiting
    if awaiting is None or awaiting["seat"] != seat:
        return None
    kind = awaiting["kind"]
    hand = state.hands[seat]
    if kind == "turn":
        return {"kind": "turn", "pending_pick": state.pending_pick and dict(state.pending_pick),
                "options": starting_cards(hand, state.top_card, state.pending_pick)}
    if kind == "name":
        return {"kind": "name", "options": list(NAME_OPTIONS)}
    if kind == "give":
        return {"kind": "give", "question": dict(state.question),
                "options": give_options(hand, state.question)}
    return {"kind": "discard", "count": awaiting["count"], "options": None}


def view(state: GameState, seat: int) -> dict:
    """Return `seat`'s picture of the game (docs/protocol.md "View", engine fields only)."""
    return {
        "status": "over" if state.outcome else "playing",
        "you": {"seat": seat, "hand": [WIRE[c] for c in sorted(state.hands[seat])]},
        "top_card": WIRE[state.pile[-1]],
        "market_count": len(state.market),
        "pile_count": len(state.pile),
        "players": [{"seat": s, "cards_left": len(hand)} for s, hand in enumerate(state.hands)],
        "current_seat": state.current,
        "awaiting_seat": state.awaiting["seat"] if state.awaiting else None,
        "pending_pick": dict(state.pending_pick) if state.pending_pick else None,
        "question": dict(state.question) if state.question else None,
        "prompt": prompt_for(state, seat),
        "turn_count": state.turn_count,
        "outcome": state.outcome.to_json() if state.outcome else None,
    }


def event_for_seat(event: dict, seat: int) -> dict:
    """Return `event` as `seat` may see it, with cards as wire objects.

    A `drew` event keeps its cards only for the seat that drew them.
    """
    out = dict(event)
    if event["event"] == "drew" and event["seat"] != seat:
        del out["cards"]
    if event["event"] == "penalty" and event["seat"] != seat:
        # The detail of a wrong play names cards that went back into the player's hand.
        out.pop("detail", None)
    for name in _CARD_LIST_FIELDS:
        if name in out:
            out[name] = [WIRE[c] for c in out[name]]
    for name in _CARD_FIELDS:
        if name in out:
            out[name] = WIRE[out[name]]
    return out


def events_for_seat(events: list[dict], seat: int) -> list[dict]:
    return [event_for_seat(event, seat) for event in events]


def public_event(event: dict) -> dict:
    """Return `event` as every seat (and the public log) may see it."""
    return event_for_seat(event, -1)
