"""The `hard` computer level: a determinised Monte Carlo search over the hidden cards.

A seat does not know the other hands or the market, only what a human in its seat knows:
its own hand, the top card, the counts, and the public events so far. For each decision,
`hard_player`:

1. reads from the public history which cards lie in the pile (every card laid since the
   last reshuffle, R15; the start card is not among the events and stays unknown);
2. deals the cards it cannot place (`unseen_cards`) at random into the other hands, the
   market and the unknown pile slots, respecting every count it can see (`sample_deal`):
   one *determinisation*, a whole game state consistent with its information;
3. tries each of its best few answers in that state and plays the game to its end with the
   normal player in every seat (`playout`);
4. repeats with fresh deals until the budget of playouts is spent, and answers with the
   candidate that won most often. Every candidate is tried on the same deals and the same
   playout seeds (common random numbers), so the comparison measures the answer, not luck.

Everything is seeded from the seat's RNG and there is no clock: the budget is a count of
playouts, and the same view, history and seed always give the same answer.
"""

from __future__ import annotations

import random
from itertools import combinations

from .cards import DECK_SIZE
from .computer import (
    discard_order,
    fewest_cards_of_others,
    hand_of,
    normal_discard,
    normal_turn,
    ranked_discards,
    ranked_gifts,
    ranked_names,
    ranked_plays,
)
from .rules import Discard, Give, Name, Play, apply, give_options
from .state import DEFAULT_MAX_TURNS, GameState

DEFAULT_PLAYOUTS = 60
# Only the normal player's favourite few answers are searched: the budget spread over every
# permutation of a pick stack or every name would leave each too few playouts to compare.
MAX_CANDIDATES = 4
# A playout that runs this long is scored by hand sizes instead (R16a's own tie-break idea);
# it bounds the cost of one decision even in an 8-player game.
MAX_PLAYOUT_ACTIONS = 300


def _card_id(card) -> int:
    """History cards come as wire objects (`public_event`); bare ids are accepted too."""
    return card["id"] if isinstance(card, dict) else card


def pile_from_history(history: list[dict]) -> list[int | None]:
    """Return the pile, bottom first, as the public events show it; None for a card nobody named.

    The pile starts with the start card (R4), which no event names. Played, discarded, given
    and lost cards go on top; a reshuffle (R15) leaves only the top card. Events that are not
    the engine's (chat, presence) are ignored, so a server's whole event log will do.
    """
    pile: list[int | None] = [None]
    for event in history:
        kind = event.get("event")
        if kind in ("played", "discarded"):
            pile.extend(_card_id(c) for c in event["cards"])
        elif kind in ("gave", "lost_special"):
            pile.append(_card_id(event["card"]))
        elif kind == "reshuffled":
            pile = [pile[-1]]
    return pile


def known_pile(view: dict, history: list[dict]) -> list[int | None]:
    """Return the pile as far as this seat can name its cards, checked against the view.

    A history that does not fit the view (cut short, say) is not trusted: then only the top
    card is named.
    """
    top, count = view["top_card"]["id"], view["pile_count"]
    pile = pile_from_history(history)
    if pile[-1] is None:
        pile[-1] = top  # nothing laid since the start (or the last reshuffle): the top is that card
    named = [c for c in pile if c is not None]
    hand = set(hand_of(view))
    if len(pile) != count or pile[-1] != top or len(set(named)) != len(named) or hand & set(named):
        return [None] * (count - 1) + [top]
    return pile


def unseen_cards(view: dict, pile: list[int | None]) -> list[int]:
    """Return, sorted, the ids this seat cannot place: the other hands, the market, unnamed pile cards."""
    placed = set(hand_of(view)) | {c for c in pile if c is not None}
    return [c for c in range(DECK_SIZE) if c not in placed]


def sample_deal(view: dict, pile: list[int | None], unseen: list[int], rng: random.Random) -> GameState:
    """Return one whole game state consistent with everything this seat sees (a determinisation)."""
    me = view["you"]["seat"]
    cards = list(unseen)
    rng.shuffle(cards)
    filled = [cards.pop() if c is None else c for c in pile]
    hands = []
    for player in view["players"]:
        if player["seat"] == me:
            hands.append(hand_of(view))
        else:
            hands.append([cards.pop() for _ in range(player["cards_left"])])
    market = cards  # what is left, in a random order
    assert len(market) == view["market_count"], "the view's counts do not add up to the deck"
    prompt = view["prompt"]
    awaiting = {"kind": prompt["kind"], "seat": me}
    if prompt["kind"] == "discard":
        awaiting["count"] = prompt["count"]
    # Outside a turn prompt the current player has laid cards this turn (a question, a drop,
    # a combination). Every strategy here calls its last card, so count the call as made.
    laid = prompt["kind"] != "turn"
    return GameState(
        seed=rng.getrandbits(32), num_players=len(hands), max_turns=DEFAULT_MAX_TURNS,
        hands=hands, market=market, pile=filled, current=view["current_seat"], awaiting=awaiting,
        pending_pick=dict(view["pending_pick"]) if view["pending_pick"] else None,
        question=dict(view["question"]) if view["question"] else None,
        turn_count=view["turn_count"], turn_laid=laid, turn_called=True, turn_active=laid,
    )


def normal_answer(state: GameState, seat: int, rng: random.Random):
    """The normal player's answer read straight from the state (playouts build no views)."""
    kind = state.awaiting["kind"]
    hand = state.hands[seat]
    if kind == "turn":
        fewest = min(len(h) for s, h in enumerate(state.hands) if s != seat)
        return normal_turn(hand, state.top_card, state.pending_pick, fewest, rng)
    if kind == "name":
        return Name(ranked_names(hand)[0])
    if kind == "give":
        return Give(ranked_gifts(hand, give_options(hand, state.question))[0])
    return normal_discard(hand, state.awaiting["count"])


def playout(state: GameState, seat: int, rng: random.Random) -> float:
    """Play on with the normal player in every seat; return 1 if `seat` wins, else 0.

    A playout cut short by MAX_PLAYOUT_ACTIONS counts as won if `seat` holds the fewest cards.
    """
    for _ in range(MAX_PLAYOUT_ACTIONS):
        if state.outcome is not None:
            return 1.0 if state.outcome.winner == seat else 0.0
        mover = state.awaiting["seat"]
        state, _ = apply(state, mover, normal_answer(state, mover, rng))
    mine = len(state.hands[seat])
    return 1.0 if all(mine <= len(h) for h in state.hands) else 0.0


def candidates(view: dict, rng: random.Random) -> list:
    """The answers worth searching, the normal player's choice first (it wins ties)."""
    prompt = view["prompt"]
    hand = hand_of(view)
    kind = prompt["kind"]
    if kind == "turn":
        plays = ranked_plays(hand, view["top_card"]["id"], view["pending_pick"], fewest_cards_of_others(view), rng)
        return [Play(cards=p, last_card=True) for p in plays[:MAX_CANDIDATES]] or [Play(cards=(), last_card=True)]
    if kind == "name":
        return [Name(v) for v in ranked_names(hand)[:MAX_CANDIDATES]]
    if kind == "give":
        return [Give(c) for c in ranked_gifts(hand, prompt["options"])[:MAX_CANDIDATES]]
    count = prompt["count"]
    # Choices among the few least useful cards; each laid in the normal player's order.
    sets = combinations(ranked_discards(hand)[:count + 2], count)
    return [Discard(cards=discard_order(hand, chosen), last_card=True) for chosen in sets][:MAX_CANDIDATES]


def hard_player(view: dict, history: list[dict], rng: random.Random, playouts: int = DEFAULT_PLAYOUTS):
    """Answer with the candidate that wins most playouts over deals sampled from this seat's knowledge."""
    options = candidates(view, rng)
    if len(options) == 1:
        return options[0]
    me = view["you"]["seat"]
    pile = known_pile(view, history)
    unseen = unseen_cards(view, pile)
    wins = [0.0] * len(options)
    for _ in range(max(1, playouts // len(options))):
        deal = sample_deal(view, pile, unseen, rng)
        playout_seed = rng.getrandbits(64)
        for k, option in enumerate(options):
            after, _ = apply(deal, me, option)
            wins[k] += playout(after, me, random.Random(playout_seed))
    best = max(range(len(options)), key=lambda k: (wins[k], -k))
    return options[best]
