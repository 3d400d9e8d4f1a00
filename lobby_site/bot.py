"""A bot's answers to prompts (docs/protocol.md "Prompts"), chosen from what a client tracks.

`choose_answer(payload, hand, top_card_id)` returns the `data` of a legal answer to a
prompt, with the last-card call (R13) set exactly when the answer leaves one card. It
uses the engine's pure rules (`legal_plays`, R8/R10), so it needs no Django.
The strategy is deliberately plain — shed as many cards as possible, never draw when a
play exists — so games end in a realistic number of turns; strength is the computer
player's job (game/engine/computer.py).
"""

from __future__ import annotations

import random
from collections import Counter

from game.engine import DECK, NAME_OPTIONS, legal_plays


def choose_answer(payload: dict, hand: list[int], top_card_id: int | None, rng: random.Random | None = None):
    """Return the answer `data` for a prompt payload, given the seat's hand and the top card."""
    rng = rng or random
    kind = payload["data"]["kind"]
    if kind == "turn":
        return _turn(payload, hand, top_card_id, rng)
    if kind == "name":
        return _name(hand)
    if kind == "give":
        return {"cards": [rng.choice(payload["extra_data"])]}
    count = payload["data"]["count"]
    cards = rng.sample(sorted(hand), min(count, len(hand)))
    return {"cards": cards, "last_card": len(hand) - len(cards) == 1}


def _turn(payload: dict, hand: list[int], top_card_id: int | None, rng) -> dict:
    """The longest legal play whose first card the server lists as a possible start; else draw."""
    starts = set(payload["extra_data"] or [])
    pending_pick = payload["data"].get("pending_pick")
    plays = []
    if top_card_id is not None:
        plays = [play for play in legal_plays(hand, top_card_id, pending_pick) if play[0] in starts]
    if not plays and starts:
        # The hand we track lacks a card the server says we hold: any listed start is a legal
        # single play on its own (R8a, R10), so play one rather than draw.
        plays = [(min(starts),)]
    if not plays:
        return {"cards": [], "last_card": False}
    longest = max(len(play) for play in plays)
    play = rng.choice([play for play in plays if len(play) == longest])
    held = len(set(hand) | starts)
    return {"cards": list(play), "last_card": held - len(play) == 1}


def _name(hand: list[int]) -> str:
    """Name the colour or shape we hold most normal cards of (a given card then suits us)."""
    counts = Counter()
    for card_id in hand:
        card = DECK[card_id]
        if card.kind == "normal":
            counts[card.colour] += 1
            counts[card.shape] += 1
    return max(NAME_OPTIONS, key=lambda option: counts[option])
