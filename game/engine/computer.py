"""Computer players (docs/rules.md R17): they see only their seat's view and play legal moves.

A strategy is a function `(view, history, rng) -> action` answering `view["prompt"]`:
`view` is `view(state, seat)`, `history` the game's public events so far (`public_event`
form, from the game's beginning), `rng` the seat's own RNG (`state.computer_rng`), never
the game's. Every level gets the same input, so none can see more than a human in its seat.

This module holds the rule-following players: `random_player` (R17's yardstick),
`easy_player` and `normal_player`. The `hard` search lives in `search.py`; `levels.py`
names them all for the server and `manage.py simulate`.

The normal player's decisions are written on plain data (a hand, the top card, the pending
pick) so that the search can use them for its playouts without building a view per move.
"""

from __future__ import annotations

import random
from collections import Counter

from .cards import COLOURS, DECK, NORMAL_COUNT, PICK_VALUE, SHAPES
from .rules import COMBINATIONS, Discard, Give, Name, Play, legal_plays


def hand_of(view: dict) -> list[int]:
    return [c["id"] for c in view["you"]["hand"]]


def fewest_cards_of_others(view: dict) -> int:
    return min(p["cards_left"] for p in view["players"] if p["seat"] != view["you"]["seat"])


# --- The random player of R17 ----------------------------------------------------------


def random_player(view: dict, history: list[dict], rng: random.Random):
    """Pick uniformly among the legal answers; always call the last card (unneeded calls are ignored)."""
    prompt = view["prompt"]
    hand = hand_of(view)
    kind = prompt["kind"]
    if kind == "turn":
        answers = legal_plays(hand, view["top_card"]["id"], view["pending_pick"]) + [()]
        return Play(cards=rng.choice(answers), last_card=True)
    if kind == "name":
        return Name(rng.choice(prompt["options"]))
    if kind == "give":
        return Give(rng.choice(prompt["options"]))
    return Discard(cards=tuple(rng.sample(sorted(hand), prompt["count"])), last_card=True)


# --- The easy player ---------------------------------------------------------------------


# A beginner lets a playable turn go by this often: hesitating is what keeps it a beginner
# (measured: with it, normal beats easy in ~75% of games and easy beats random in ~80%).
EASY_HESITATION = 0.2


def easy_player(view: dict, history: list[dict], rng: random.Random):
    """A beginner: lays any one card that fits, sometimes draws instead, and chooses the rest at random.

    It never stacks picks or plays a combination (a beginner plays one card at a time), does
    not think about what it names, gives or discards, and lets one playable turn in five go
    by. Still, unlike the random player, it mostly plays when it can: that is what makes it
    beat that player (R17).
    """
    prompt = view["prompt"]
    hand = hand_of(view)
    kind = prompt["kind"]
    if kind == "turn":
        singles = [p for p in legal_plays(hand, view["top_card"]["id"], view["pending_pick"]) if len(p) == 1]
        if not singles or rng.random() < EASY_HESITATION:
            return Play(cards=(), last_card=True)
        return Play(cards=rng.choice(singles), last_card=True)
    if kind == "name":
        return Name(rng.choice(prompt["options"]))
    if kind == "give":
        return Give(rng.choice(prompt["options"]))
    return Discard(cards=tuple(rng.sample(sorted(hand), prompt["count"])), last_card=True)


# --- The normal player -------------------------------------------------------------------


def _colour_counts(hand) -> Counter:
    return Counter(DECK[c].colour for c in hand)


# Per card id: its colour and its face (shape or symbol). Shapes and symbols never share a
# name, so equal faces mean equal kinds. Plain tuples: scoring runs inside every playout.
_COLOUR = tuple(card.colour for card in DECK)
_FACE = tuple(card.shape or card.symbol for card in DECK)
_SYMBOL = tuple(card.symbol for card in DECK)


def _follow_ups(hand, top: int) -> int:
    """How many held cards could be laid on `top`: a flexible hand is worth keeping."""
    colour, face = _COLOUR[top], _FACE[top]
    return sum(1 for c in hand if _COLOUR[c] == colour or _FACE[c] == face)


def score_play(play, hand, fewest_others: int) -> float:
    """Score a legal play: shed cards, hurt the others, keep a hand that can follow."""
    rest = [c for c in hand if c not in play]
    if not rest:
        return 1e9  # R14: an empty hand wins
    danger = 3 if fewest_others <= 2 else 1  # someone close to winning: hurting them matters more
    score = 10.0 * len(play)
    first = _SYMBOL[play[0]]
    if len(play) == 2 and (first, _SYMBOL[play[1]]) in COMBINATIONS:
        second = _SYMBOL[play[1]]
        effect = COMBINATIONS[(first, second)]
        if effect == "all_draw":
            score += 14 * PICK_VALUE[second] * danger + 12
        elif effect == "skip_all":
            score += 12
        elif effect == "discard":
            score += 10 * (2 if second in ("pick_two", "drop") else 1)
        else:
            score += 9 + 4 * danger
    elif first in PICK_VALUE:
        score += 8 * PICK_VALUE[first] * len(play) * danger
    elif first == "skip":
        score += 6 * danger
    elif first == "question":
        score += 5
    elif first == "drop":
        score += 9  # one more card goes with it
    # Keep powerful specials for later unless they help now; prefer shedding normal cards.
    if first != "drop":
        score -= 2 * sum(1 for c in play if c >= NORMAL_COUNT)
    last = play[-1]
    colour, face = _COLOUR[last], _FACE[last]
    follow_ups = same_colour = 0
    for c in rest:
        if _COLOUR[c] == colour:
            follow_ups += 1
            same_colour += 1
        elif _FACE[c] == face:
            follow_ups += 1
    score += 3 * follow_ups
    score += 1.5 * same_colour  # a hand that stays in the top card's colour
    return score


def ranked_plays(hand, top: int, pending_pick: dict | None, fewest_others: int,
                 rng: random.Random) -> list[tuple[int, ...]]:
    """Every legal play, the normal player's favourite first (its RNG breaks ties)."""
    plays = legal_plays(hand, top, pending_pick)
    scored = [(score_play(p, hand, fewest_others), rng.random(), p) for p in plays]
    scored.sort(reverse=True)
    return [p for _, _, p in scored]


def normal_turn(hand, top: int, pending_pick: dict | None, fewest_others: int, rng: random.Random) -> Play:
    """The best-scoring legal play, never a needless draw."""
    return best_play(legal_plays(hand, top, pending_pick), hand, fewest_others, rng)


def best_play(plays, hand, fewest_others: int, rng: random.Random) -> Play:
    """The best-scoring of `plays` (the legal plays of `hand`), or the draw if there are none."""
    if not plays:
        return Play(cards=(), last_card=True)
    best = max((score_play(p, hand, fewest_others), rng.random(), p) for p in plays)
    return Play(cards=best[2], last_card=True)


def ranked_names(hand) -> list[str]:
    """What to name, best first: what we hold most of, the others being least likely to hold it."""
    normals = [DECK[c] for c in hand if DECK[c].kind == "normal"]
    counts = Counter(c.colour for c in normals) + Counter(c.shape for c in normals)
    options = COLOURS + SHAPES
    return sorted(options, key=lambda v: (-counts.get(v, 0), options.index(v)))


def ranked_gifts(hand, options) -> list[int]:
    """The cards to give to a question, best first: from the colour we hold least of."""
    colours = _colour_counts(hand)
    return sorted(options, key=lambda c: (colours[DECK[c].colour], c))


def ranked_discards(hand) -> list[int]:
    """Held cards, the least useful first: normal cards of our rarest colours."""
    colours = _colour_counts(hand)
    return sorted(hand, key=lambda c: (DECK[c].kind == "special", colours[DECK[c].colour], c))


def discard_order(hand, chosen) -> tuple[int, ...]:
    """Lay the chosen cards so that the last one, the new top card, best suits what stays."""
    rest = [c for c in hand if c not in chosen]
    return tuple(sorted(chosen, key=lambda c: _follow_ups(rest, c)))


def normal_discard(hand, count: int) -> Discard:
    return Discard(cards=discard_order(hand, ranked_discards(hand)[:count]), last_card=True)


def normal_player(view: dict, history: list[dict], rng: random.Random):
    """A greedy player: the best-scoring legal play, never a needless draw (the `normal` level)."""
    prompt = view["prompt"]
    hand = hand_of(view)
    kind = prompt["kind"]
    if kind == "turn":
        return normal_turn(hand, view["top_card"]["id"], view["pending_pick"], fewest_cards_of_others(view), rng)
    if kind == "name":
        return Name(ranked_names(hand)[0])
    if kind == "give":
        return Give(ranked_gifts(hand, prompt["options"])[0])
    return normal_discard(hand, prompt["count"])


computer_player = normal_player  # its name before there were levels
