"""Computer players (docs/rules.md R17): they see only their seat's view and play legal moves.

A strategy is a function `(view, rng) -> action` answering `view["prompt"]`. Both the
server (computer seats, autoplay for absent players) and `manage.py simulate` call them
through `STRATEGIES`. `rng` is the seat's own RNG (`state.computer_rng`), never the game's.
"""

from __future__ import annotations

import random
from collections import Counter

from .cards import COLOURS, DECK, PICK_VALUE, SHAPES
from .rules import COMBINATIONS, Discard, Give, Name, Play, legal_plays


def _hand(view: dict) -> list[int]:
    return [c["id"] for c in view["you"]["hand"]]


# --- The random player of R17 ----------------------------------------------------------


def random_player(view: dict, rng: random.Random):
    """Pick uniformly among the legal answers; always call the last card (unneeded calls are ignored)."""
    prompt = view["prompt"]
    hand = _hand(view)
    kind = prompt["kind"]
    if kind == "turn":
        answers = legal_plays(hand, view["top_card"]["id"], view["pending_pick"]) + [()]
        return Play(cards=rng.choice(answers), last_card=True)
    if kind == "name":
        return Name(rng.choice(prompt["options"]))
    if kind == "give":
        return Give(rng.choice(prompt["options"]))
    return Discard(cards=tuple(rng.sample(sorted(hand), prompt["count"])), last_card=True)


# --- The computer player ----------------------------------------------------------------


def _colour_counts(hand) -> Counter:
    return Counter(DECK[c].colour for c in hand)


def _follow_ups(hand, top: int) -> int:
    """How many held cards could be laid on `top`: a flexible hand is worth keeping."""
    card = DECK[top]
    return sum(1 for c in hand if DECK[c].colour == card.colour
               or (DECK[c].kind == card.kind and (DECK[c].shape or DECK[c].symbol) == (card.shape or card.symbol)))


def _score_play(play, hand, view) -> float:
    """Score a legal play: shed cards, hurt the others, keep a hand that can follow."""
    rest = [c for c in hand if c not in play]
    if not rest:
        return 1e9  # R14: an empty hand wins
    others = [p["cards_left"] for p in view["players"] if p["seat"] != view["you"]["seat"]]
    danger = 3 if min(others) <= 2 else 1  # someone close to winning: hurting them matters more
    score = 10.0 * len(play)
    symbols = [DECK[c].symbol for c in play]
    if len(play) == 2 and (symbols[0], symbols[1]) in COMBINATIONS:
        effect = COMBINATIONS[(symbols[0], symbols[1])]
        if effect == "all_draw":
            score += 14 * PICK_VALUE[symbols[1]] * danger + 12
        elif effect == "skip_all":
            score += 12
        elif effect == "discard":
            score += 10 * (2 if symbols[1] in ("pick_two", "drop") else 1)
        else:
            score += 9 + 4 * danger
    elif symbols[0] in PICK_VALUE:
        score += 8 * PICK_VALUE[symbols[0]] * len(play) * danger
    elif symbols[0] == "skip":
        score += 6 * danger
    elif symbols[0] == "question":
        score += 5
    elif symbols[0] == "drop":
        score += 9  # one more card goes with it
    # Keep powerful specials for later unless they help now; prefer shedding normal cards.
    score -= 2 * sum(1 for c in play if DECK[c].kind == "special" and symbols[0] not in ("drop",))
    score += 3 * _follow_ups(rest, play[-1])
    majority = _colour_counts(rest)
    score += 1.5 * majority.get(DECK[play[-1]].colour, 0)
    return score


def _best_name(hand) -> str:
    """Name what we hold most of: the others are least likely to hold it, and the given card suits us."""
    normals = [DECK[c] for c in hand if DECK[c].kind == "normal"]
    counts = Counter(c.colour for c in normals) + Counter(c.shape for c in normals)
    return max(COLOURS + SHAPES, key=lambda v: (counts.get(v, 0), -(COLOURS + SHAPES).index(v)))


def _discard_choice(hand, count: int) -> tuple[int, ...]:
    """Shed the least useful cards; lay last the one that best suits what stays."""
    colours = _colour_counts(hand)
    ranked = sorted(hand, key=lambda c: (DECK[c].kind == "special", colours[DECK[c].colour], c))
    chosen = ranked[:count]
    rest = [c for c in hand if c not in chosen]
    chosen.sort(key=lambda c: _follow_ups(rest, c))
    return tuple(chosen)


def computer_player(view: dict, rng: random.Random):
    """A greedy player: the best-scoring legal play, never a needless draw."""
    prompt = view["prompt"]
    hand = _hand(view)
    kind = prompt["kind"]
    if kind == "turn":
        plays = legal_plays(hand, view["top_card"]["id"], view["pending_pick"])
        if not plays:
            return Play(cards=(), last_card=True)
        scores = [(_score_play(p, hand, view), rng.random(), p) for p in plays]
        return Play(cards=max(scores)[2], last_card=True)
    if kind == "name":
        return Name(_best_name(hand))
    if kind == "give":
        colours = _colour_counts(hand)
        return Give(min(prompt["options"], key=lambda c: (colours[DECK[c].colour], c)))
    return Discard(cards=_discard_choice(hand, prompt["count"]), last_card=True)


STRATEGIES = {"computer": computer_player, "random": random_player}
