"""The `hard` computer level: a determinised Monte Carlo search over the hidden cards.

A seat does not know the other hands or the market, only what a human in its seat knows:
its own hand, the top card, the counts, and the public events so far. For each decision,
`hard_player`:

1. reads the public history (`read_history`): which cards lie in the pile (every card laid
   since the last reshuffle, R15; the start card is named by no event and stays unknown),
   what each other seat showed it lacks when it drew (`Layer`), and its latest choices;
2. deals the cards it cannot place at random into the other hands, the market and the
   unknown pile slots, respecting every count it can see (`sample_deal`): one
   *determinisation*, a whole game state consistent with its information. Each other hand
   is the first of a few tries that explains that seat's recent choices, were they played by
   the normal player (the same model its playouts use), else the one that explains most;
3. tries each of its best few answers in that state and plays on with the normal player in
   every seat (`playout`), to the end or for `playout_depth` actions (24 with two players,
   12 with more), then scored by hand sizes;
4. repeats with fresh deals, keeping the better half of the candidates after each round,
   until the budget of playouts is spent, and answers with the candidate that won most
   often. The candidates are tried on the same deals and the same playout seeds (common
   random numbers), so the comparison measures the answer, not luck.

Everything is seeded from the seat's RNG and there is no clock: the budget is a count of
playouts, and the same view, history and seed always give the same answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cache
from itertools import combinations

from .cards import DECK, DECK_SIZE, NORMAL_COUNT
from .computer import (
    best_play,
    discard_order,
    fewest_cards_of_others,
    hand_of,
    normal_discard,
    ranked_discards,
    ranked_gifts,
    ranked_names,
    ranked_plays,
    score_play,
)
from .rules import Discard, Give, Name, Play, advance, apply, give_options, legal_plays, matches
from .state import DEFAULT_MAX_TURNS, GameState

DEFAULT_PLAYOUTS = 60
# Only the normal player's favourite few answers are searched: the budget spread over every
# permutation of a pick stack or every name would leave each too few playouts to compare.
MAX_CANDIDATES = 4
# Hands tried per other seat and determinisation in search of one that explains its choices.
DEAL_TRIES = 8
# The latest choices of each seat that a deal must explain: older ones cost more than they tell.
MAX_CHOICES = 3
# A playout stops after this many actions and is scored by hand sizes (R16a's own idea):
# measured, a shorter playout loses little accuracy and leaves budget for more deals, and it
# bounds the cost of a decision even in an 8-player game.
PLAYOUT_DEPTH = 24
# With more than two players, half as far. Measured against three normal players over 2,000
# games on three seed ranges: 12 actions won 28.7% of them, 24 won 27.1% (the shorter ahead on
# every range; a small gain, near the noise), for less time. Probably because among four players
# a long playout is mostly the other seats' luck, which drowns the answer's effect; in two
# players the longer one stays ahead (61.5% against 59.2% at 12).
MULTIPLAYER_PLAYOUT_DEPTH = 12
SCORE_PER_CARD = 0.1


def playout_depth(num_players: int) -> int:
    """How many actions a playout runs before it is scored by hand sizes."""
    return PLAYOUT_DEPTH if num_players == 2 else MULTIPLAYER_PLAYOUT_DEPTH


# --- What the public history tells -----------------------------------------------------------


def _card_id(card) -> int:
    """History cards come as wire objects (`public_event`); bare ids are accepted too."""
    return card["id"] if isinstance(card, dict) else card


@dataclass(slots=True)
class Choice:
    """A decision another seat made: its hand then must explain it.

    `kind` is the prompt's ("turn", "name", "give", "discard"); `answer` the cards laid (or
    the value named). The hand then is the seat's first `layers` layers (the batches it drew
    later were not there yet) plus the cards it laid from this choice on; `laid_marks` and
    `drawn_marks` are the running totals at that moment, from which `seat_misfits` also works out
    every seat's card count then.
    """

    seat: int
    kind: str
    answer: tuple
    top: int | None = None
    pending_pick: dict | None = None
    question: dict | None = None
    laid_marks: dict[int, int] = field(default_factory=dict)
    drawn_marks: dict[int, int] = field(default_factory=dict)
    layers: int = 1  # how many of the seat's layers it held then


@dataclass(slots=True)
class Layer:
    """Cards of one hand that came together, and what they are believed not to include."""

    lacking: frozenset[int]
    size: int | None  # None for the oldest layer: the rest of the hand


@dataclass(slots=True)
class Knowledge:
    """What the public history tells this seat about the cards it cannot see.

    `pile` is the pile bottom first, None for a card no event names (the start card, R4).
    `layers[s]` splits seat s's hand by when the cards came, oldest first: the cards it held
    before its first recorded draw, then each batch it drew. Every layer holds a set of cards
    it is believed not to contain (learnt after the layer came) and its size; the oldest
    layer's size is None: whatever the count leaves. `choices[s]` are the latest decisions
    seat s made; `laid[s]` every card it laid, in order; `drawn[s]` how many cards it drew.
    """

    pile: list[int | None]
    layers: dict[int, list[Layer]] = field(default_factory=dict)
    choices: dict[int, list[Choice]] = field(default_factory=dict)
    laid: dict[int, list[int]] = field(default_factory=dict)
    drawn: dict[int, int] = field(default_factory=dict)


# The sets a seat may lack, built once each: a decision rereads the whole history.
@cache
def _matching(top: int) -> frozenset[int]:
    return frozenset(c for c in range(DECK_SIZE) if matches(c, top))


@cache
def _with_symbol(symbol: str) -> frozenset[int]:
    return frozenset(c for c in range(DECK_SIZE) if DECK[c].symbol == symbol)


@cache
def _normal_with(attribute: str, value: str) -> frozenset[int]:
    return frozenset(c for c in range(NORMAL_COUNT) if getattr(DECK[c], attribute) == value)


def read_history(history: list[dict]) -> Knowledge:
    """Follow the public events from the game's beginning: the pile, what each seat lacks and chose.

    The pile starts with the start card, which no event names. Played, discarded, given and
    lost cards go on top; a reshuffle (R15) leaves only the top card.

    A seat lacks what it showed it did not hold: drawing for a question (R11b forces a holder
    to give), taking a pick total rather than answering it (R10), and drawing instead of
    playing (R6), which a player does when nothing it holds matches the top card. The last two
    read the player's mind a little, as the choices do: they assume the normal player's ways.
    The sampler drops any belief the counts cannot satisfy and only prefers deals that explain
    the choices, so a player who thinks otherwise (a human drawing on purpose) can mislead the
    search, which costs it strength but never legality.
    Events that are not the engine's (chat, presence) are ignored, so a server's whole event
    log will do.
    """
    known = Knowledge(pile=[None])
    pile = known.pile
    pick = None  # the pending pick total, as the events announced it
    question = None
    punished = None  # a wrong play's draws say nothing about the hand

    def layers(seat: int) -> list[Layer]:
        return known.layers.setdefault(seat, [Layer(frozenset(), None)])

    def learn(seat: int, lacking: frozenset[int]) -> None:
        for layer in layers(seat):  # the whole hand lacks it, whenever its cards came
            layer.lacking = layer.lacking | lacking

    def chose(seat: int, kind: str, answer: tuple, **context) -> None:
        marks = {s: len(cards) for s, cards in known.laid.items()}
        choices = known.choices.setdefault(seat, [])
        choices.append(Choice(seat, kind, answer, laid_marks=marks, drawn_marks=dict(known.drawn),
                              layers=len(layers(seat)), **context))
        if len(choices) > MAX_CHOICES:
            del choices[0]

    def laid(seat: int, cards: list[int]) -> None:
        pile.extend(cards)
        known.laid.setdefault(seat, []).extend(cards)
        held = layers(seat)
        for c in cards:
            # From the oldest layer that may hold it (the oldest is the rest of the hand, so
            # nothing to count), else the layer it can only have come from.
            if c in held[0].lacking:
                layer = next((la for la in held[1:] if la.size and c not in la.lacking), None)
                layer = layer or next((la for la in reversed(held[1:]) if la.size), None)
                if layer is not None:
                    layer.size -= 1

    for event in history:
        kind = event.get("event")
        seat = event.get("seat")
        if kind == "played":
            cards = [_card_id(c) for c in event["cards"]]
            if pile[-1] is not None:
                chose(seat, "turn", tuple(cards), top=pile[-1], pending_pick=pick and dict(pick))
            laid(seat, cards)
            pick = None
        elif kind == "discarded":
            cards = [_card_id(c) for c in event["cards"]]
            chose(seat, "discard", tuple(cards))
            laid(seat, cards)
        elif kind == "gave":
            card = _card_id(event["card"])
            if question is not None:
                chose(seat, "give", (card,), question={question[0]: question[1]})
            laid(seat, [card])
            question = None
        elif kind == "lost_special":
            laid(seat, [_card_id(event["card"])])
        elif kind == "reshuffled":
            pile[:] = [pile[-1]]
        elif kind == "pick_pending":
            pick = {"symbol": event["symbol"], "total": event["total"]}
        elif kind == "question":
            question = ("colour", event["colour"]) if "colour" in event else ("shape", event["shape"])
            chose(seat, "name", (question[1],))
        elif kind == "penalty" and event.get("reason") == "wrong_play":
            punished = seat
        elif kind == "turn":
            punished = None
            question = None
        elif kind == "drew":
            reason = event["reason"]
            if seat != punished:
                if reason == "question" and question is not None:
                    learn(seat, _normal_with(*question))
                elif reason == "pick" and pick is not None:
                    learn(seat, _with_symbol(pick["symbol"]))
                elif reason == "draw" and pile[-1] is not None:
                    learn(seat, _matching(pile[-1]))
            if reason == "pick":
                pick = None
            if event["count"]:
                layers(seat).append(Layer(frozenset(), event["count"]))
                known.drawn[seat] = known.drawn.get(seat, 0) + event["count"]
                # Older choices would need to know which cards it has laid since came from
                # which layer; measured, checking them cost more than they told.
                known.choices.pop(seat, None)
    return known


def read_knowledge(view: dict, history: list[dict]) -> Knowledge:
    """Return what this seat knows beyond its view, checked against the view.

    A history that does not fit the view (cut short, say) is not trusted: then only the top
    card is named and nothing is believed about the other hands.
    """
    top, count = view["top_card"]["id"], view["pile_count"]
    known = read_history(history)
    pile = known.pile
    if pile[-1] is None:
        pile[-1] = top  # nothing laid since the start: the top card is the start card
    named = [c for c in pile if c is not None]
    if len(pile) != count or pile[-1] != top or len(set(named)) != len(named) or set(hand_of(view)) & set(named):
        return Knowledge(pile=[None] * (count - 1) + [top])
    me = view["you"]["seat"]
    for beliefs in (known.layers, known.choices):
        beliefs.pop(me, None)
    return known


def unseen_cards(view: dict, pile: list[int | None]) -> list[int]:
    """Return, sorted, the ids this seat cannot place: the other hands, the market, unnamed pile cards."""
    placed = set(hand_of(view)) | {c for c in pile if c is not None}
    return [c for c in range(DECK_SIZE) if c not in placed]


def seat_misfits(known: Knowledge, seat: int, held_now: list[int], parts: list[list[int]] | None,
                 counts_now: list[int], enough: int) -> int:
    """Count the recorded choices of `seat` the normal player would not have made holding `held_now`.

    `parts` is that hand split by layer (None: no layers). A seat's choices depend on its own
    hand and on the public counts alone, so each seat's hand can be judged on its own.
    Counting stops at `enough`: the caller only wants to know whether a hand beats its best.
    """
    wrong = 0
    laid = known.laid.get(seat, [])
    for choice in reversed(known.choices.get(seat, ())):  # the latest first: they tell the most
        if wrong >= enough:
            return wrong
        # Its hand then: the layers it held (not the batches drawn since), and what it laid since.
        then = held_now if parts is None else [c for part in parts[:choice.layers] for c in part]
        held = then + laid[choice.laid_marks.get(seat, 0):]
        if choice.kind == "turn":
            counts = [counts_now[s] + len(known.laid.get(s, ())) - choice.laid_marks.get(s, 0)
                      - known.drawn.get(s, 0) + choice.drawn_marks.get(s, 0) for s in range(len(counts_now))]
            fewest = min(n for s, n in enumerate(counts) if s != seat)
            best = max(score_play(p, held, fewest) for p in legal_plays(held, choice.top, choice.pending_pick))
            wrong += score_play(choice.answer, held, fewest) < best
        elif choice.kind == "name":
            wrong += ranked_names(held)[0] != choice.answer[0]
        elif choice.kind == "give":
            wrong += ranked_gifts(held, give_options(held, choice.question))[0] != choice.answer[0]
        else:
            wrong += normal_discard(held, len(choice.answer)).cards != choice.answer
    return wrong


def _layer_sizes(layers: list[Layer], count: int) -> list[int]:
    """How many of a seat's `count` cards each layer holds, the oldest taking what is left.

    When the counts cannot add up (a seat that does not think like the model), the newest
    layers give way.
    """
    sizes = [layer.size for layer in layers[1:]]
    excess = sum(sizes) - count
    for k in reversed(range(len(sizes))):
        cut = min(max(excess, 0), sizes[k])
        sizes[k] -= cut
        excess -= cut
    return [count - sum(sizes)] + sizes


def _deal_seat(layers: list[Layer], sizes: list[int], free: list[int], rng: random.Random) -> list[list[int]]:
    """Deal one seat's hand from `free`, layer by layer, each avoiding what it is believed to lack."""
    parts: list[list[int]] = []
    taken: set[int] = set()
    for layer, size in zip(layers, sizes):
        if size:
            allowed = [c for c in free if c not in layer.lacking and c not in taken]
            if len(allowed) < size:  # the belief cannot hold: drop it
                allowed = [c for c in free if c not in taken]
            parts.append(rng.sample(allowed, size))
            taken.update(parts[-1])
        else:
            parts.append([])
    return parts


def _deal_hands(view: dict, known: Knowledge, unseen: list[int], rng: random.Random):
    """Deal the other hands from the unseen cards, one seat at a time.

    A seat with recorded choices gets the best of up to DEAL_TRIES hands, judged on its own
    choices alone (`seat_misfits`): the first that explains them all is kept. A seat's choices
    depend on nothing else hidden, so nothing is lost by judging it alone, and a hand that
    explains one seat's few choices turns up in a try or two, where whole deals explaining
    every seat's at once were tried up to DEAL_TRIES times, each time judging every seat again:
    measured in 4-player games, the same strength for two thirds of the CPU time at p99.
    Seats with choices are dealt first, the most choices first, so that a seat that says
    nothing about its hand does not take the cards another's choices call for.
    Return the hands and, for the seats with layers, each hand split by layer.
    """
    me = view["you"]["seat"]
    counts = [p["cards_left"] for p in view["players"]]
    hands: list[list[int] | None] = [None] * len(counts)
    hands[me] = hand_of(view)
    taken: set[int] = set()
    layered: dict[int, list[list[int]]] = {}
    order = sorted((s for s in range(len(counts)) if s != me),
                   key=lambda s: (-len(known.choices.get(s, ())), -len(known.layers.get(s, ())), s))
    for seat in order:
        free = [c for c in unseen if c not in taken]
        layers = known.layers.get(seat) or [Layer(frozenset(), None)]
        sizes = _layer_sizes(layers, counts[seat])
        best = None
        for _ in range(DEAL_TRIES if known.choices.get(seat) else 1):
            parts = _deal_seat(layers, sizes, free, rng)
            if not known.choices.get(seat):
                best = (0, parts)
                break
            held = [c for part in parts for c in part]
            wrong = seat_misfits(known, seat, held, parts if seat in known.layers else None, counts,
                                 best[0] if best else 1_000)
            if best is None or wrong < best[0]:
                best = (wrong, parts)
            if wrong == 0:
                break
        parts = best[1]
        if seat in known.layers:
            layered[seat] = parts
        hands[seat] = [c for part in parts for c in part]
        taken.update(hands[seat])
    return hands, layered


def sample_deal(view: dict, known: Knowledge, unseen: list[int], rng: random.Random) -> GameState:
    """Return one whole game state consistent with everything this seat sees (a determinisation).

    Its hands come from `_deal_hands`; the rest of the unseen cards fill the unnamed pile
    slots and the market, in a random order.
    """
    hands, _ = _deal_hands(view, known, unseen, rng)
    me = view["you"]["seat"]
    dealt = {c for seat, hand in enumerate(hands) if seat != me for c in hand}
    # In a random order; sorting by random keys does it several times faster than shuffle().
    rest = sorted((c for c in unseen if c not in dealt), key=lambda _: rng.random())
    pile = [rest.pop() if c is None else c for c in known.pile]
    assert len(rest) == view["market_count"], "the view's counts do not add up to the deck"
    prompt = view["prompt"]
    awaiting = {"kind": prompt["kind"], "seat": me}
    if prompt["kind"] == "discard":
        awaiting["count"] = prompt["count"]
    # Outside a turn prompt the current player has laid cards this turn (a question, a drop,
    # a combination). Every strategy here calls its last card, so count the call as made.
    laid = prompt["kind"] != "turn"
    return GameState(
        seed=rng.getrandbits(32), num_players=len(hands), max_turns=DEFAULT_MAX_TURNS,
        hands=hands, market=rest, pile=pile, current=view["current_seat"], awaiting=awaiting,
        pending_pick=dict(view["pending_pick"]) if view["pending_pick"] else None,
        question=dict(view["question"]) if view["question"] else None,
        turn_count=view["turn_count"], turn_laid=laid, turn_called=True, turn_active=laid,
    )


# --- Playouts and the search -------------------------------------------------------------------


def normal_answer(state: GameState, seat: int, rng: random.Random):
    """The normal player's answer read straight from the state (playouts build no views)."""
    kind = state.awaiting["kind"]
    hand = state.hands[seat]
    if kind == "turn":
        plays = legal_plays(hand, state.top_card, state.pending_pick)
        if len(plays) <= 1:  # nothing to weigh: the normal player's answer, without scoring
            return Play(cards=plays[0] if plays else (), last_card=True)
        fewest = min(len(h) for s, h in enumerate(state.hands) if s != seat)
        return best_play(plays, hand, fewest, rng)
    if kind == "name":
        return Name(ranked_names(hand)[0])
    if kind == "give":
        return Give(ranked_gifts(hand, give_options(hand, state.question))[0])
    return normal_discard(hand, state.awaiting["count"])


def playout(state: GameState, seat: int, rng: random.Random, depth: int | None = None) -> float:
    """Play `state` (changed in place) on with the normal player in every seat; return `seat`'s score.

    1 for a win, 0 for a loss. A playout cut short after `depth` actions (None: `playout_depth`)
    is scored by hand sizes: a fair share of wins, plus SCORE_PER_CARD per card fewer than the
    best-placed other seat.
    """
    for _ in range(playout_depth(state.num_players) if depth is None else depth):
        if state.outcome is not None:
            return 1.0 if state.outcome.winner == seat else 0.0
        mover = state.awaiting["seat"]
        advance(state, mover, normal_answer(state, mover, rng))
    if state.outcome is not None:
        return 1.0 if state.outcome.winner == seat else 0.0
    mine = len(state.hands[seat])
    fewest = min(len(h) for s, h in enumerate(state.hands) if s != seat)
    # Centred on a fair share of wins: around 0.5, a four-player playout cut short would look
    # twice as good as one played out, and moves that only delay the end would win the search.
    return min(1.0, max(0.0, 1 / state.num_players + SCORE_PER_CARD * (fewest - mine)))


def _face_key(cards) -> tuple[str, ...]:
    """Cards by what they are, not which copy: copies of a normal card are interchangeable."""
    return tuple(str(DECK[c]).partition("#")[0] for c in cards)


def _distinct(answers: list, cards_of) -> list:
    """Keep the first of answers that lay the same faces in the same order, up to MAX_CANDIDATES."""
    seen, kept = set(), []
    for answer in answers:
        key = _face_key(cards_of(answer))
        if key not in seen:
            seen.add(key)
            kept.append(answer)
    return kept[:MAX_CANDIDATES]


def candidates(view: dict, rng: random.Random) -> list:
    """The answers worth searching, the normal player's choice first (it wins ties)."""
    prompt = view["prompt"]
    hand = hand_of(view)
    kind = prompt["kind"]
    if kind == "turn":
        plays = ranked_plays(hand, view["top_card"]["id"], view["pending_pick"], fewest_cards_of_others(view), rng)
        answers = [Play(cards=p, last_card=True) for p in plays]
        return _distinct(answers, lambda a: a.cards) or [Play(cards=(), last_card=True)]
    if kind == "name":
        return [Name(v) for v in ranked_names(hand)[:MAX_CANDIDATES]]
    if kind == "give":
        return _distinct([Give(c) for c in ranked_gifts(hand, prompt["options"])], lambda a: (a.card,))
    count = prompt["count"]
    # Choices among the few least useful cards; each laid in the normal player's order.
    sets = combinations(ranked_discards(hand)[:count + 2], count)
    return _distinct([Discard(cards=discard_order(hand, chosen), last_card=True) for chosen in sets],
                     lambda a: a.cards)


def hard_player(view: dict, history: list[dict], rng: random.Random, playouts: int = DEFAULT_PLAYOUTS):
    """Answer with the candidate that wins most playouts over deals sampled from this seat's knowledge.

    The budget goes in rounds of equal size (successive halving): every round tries the
    remaining candidates on fresh deals and keeps the better half, so the last comparison,
    between the two best, gets the most deals.
    """
    options = candidates(view, rng)
    if len(options) == 1:
        return options[0]
    me = view["you"]["seat"]
    known = read_knowledge(view, history)
    unseen = unseen_cards(view, known.pile)
    wins = [0.0] * len(options)
    alive = list(range(len(options)))
    rounds = (len(options) - 1).bit_length()  # halvings down to one: 2 → 1, 3 or 4 → 2
    for _ in range(rounds):
        for _ in range(max(1, playouts // rounds // len(alive))):
            deal = sample_deal(view, known, unseen, rng)
            playout_seed = rng.getrandbits(64)
            for k in alive:
                after, _ = apply(deal, me, options[k])
                wins[k] += playout(after, me, random.Random(playout_seed))
        # Survivors have played the same deals, so their totals compare; ties keep normal's order.
        alive = sorted(alive, key=lambda k: (-wins[k], k))[:(len(alive) + 1) // 2]
    return options[alive[0]]
