"""The rules of Discard (docs/rules.md R2–R16a): legality in layers, then `apply`.

* `matches` (R7) and `check_play` (R8–R10) say whether a play is legal and why not;
  `legal_plays` enumerates the legal plays. They read only a hand, the top card and the
  pending pick, so a computer seat uses them on its own view: one truth for all.
* `check_action` refuses what is not a move at all (R9, second paragraph) with an
  `IllegalAction` whose code is docs/protocol.md's.
* `apply(state, seat, action)` returns the new state and the events, leaving the old
  state untouched. The state's `awaiting` says which seat must answer next and how.
  `advance` is its inside, changing a state in place: only the search's playouts use it,
  on states of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

from .cards import (
    COLOURS,
    DECK,
    DECK_SIZE,
    NORMAL_COUNT,
    PICK_SYMBOLS,
    PICK_VALUE,
    SHAPES,
    is_special,
)
from .state import (
    DEFAULT_MAX_TURNS,
    HAND_SIZE,
    MAX_PLAYERS,
    MIN_PLAYERS,
    GameState,
    IllegalAction,
    Outcome,
)

NAME_OPTIONS = COLOURS + SHAPES  # what a question may name (R11b)

# R12: the combinations, by (first symbol, second symbol).
COMBINATIONS = {
    ("question", "pick_one"): "all_draw",
    ("question", "pick_two"): "all_draw",
    ("question", "skip"): "skip_all",
    ("skip", "question"): "skip_all",
    ("drop", "pick_one"): "discard",
    ("drop", "pick_two"): "discard",
    ("drop", "drop"): "discard",
    ("drop", "question"): "first_loses_special",
    ("question", "drop"): "first_loses_special",
    ("drop", "skip"): "next_loses_special",
    ("skip", "drop"): "next_loses_special",
}
COMBINATION_DISCARDS = {"pick_one": 1, "pick_two": 2, "drop": 2}  # by the second card


# --- Actions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Play:
    """Answer to a `turn` prompt: cards in laying order; no cards means draw (R6)."""

    cards: tuple[int, ...] = ()
    last_card: bool = False


@dataclass(frozen=True, slots=True)
class Name:
    """Answer to a `name` prompt: a colour or a shape (R11b)."""

    value: str


@dataclass(frozen=True, slots=True)
class Give:
    """Answer to a `give` prompt: the normal card handed over (R11b)."""

    card: int


@dataclass(frozen=True, slots=True)
class Discard:
    """Answer to a `discard` prompt: exactly `count` cards in laying order (R11c, R12)."""

    cards: tuple[int, ...]
    last_card: bool = False


ACTION_KINDS = {Play: "turn", Name: "name", Give: "give", Discard: "discard"}


# --- Legality ------------------------------------------------------------------------


def _matches(card_id: int, top_id: int) -> bool:
    card, top = DECK[card_id], DECK[top_id]
    if card.colour == top.colour:
        return True
    if card.kind != top.kind:
        return False
    if card.kind == "normal":
        return card.shape == top.shape
    return card.symbol == top.symbol


# R7 for every (top, card) pair, worked out once: the computer's search asks it millions of times.
_MATCHES = tuple(tuple(_matches(c, top) for c in range(DECK_SIZE)) for top in range(DECK_SIZE))
_SYMBOL = tuple(card.symbol for card in DECK)


def matches(card_id: int, top_id: int) -> bool:
    """R7: whether `card_id` may be laid on `top_id`."""
    return _MATCHES[top_id][card_id]


def play_kind(cards) -> str | None:
    """Return "single", "stack" or "combination" for the shape of a play, else None."""
    if len(cards) == 1:
        return "single"
    first = DECK[cards[0]]
    if first.symbol in PICK_SYMBOLS and all(DECK[c].symbol == first.symbol for c in cards):
        return "stack"
    if len(cards) == 2 and (first.symbol, DECK[cards[1]].symbol) in COMBINATIONS:
        return "combination"
    return None


def check_play(cards, top_id: int, pending_pick: dict | None) -> str | None:
    """Return why a play of held, distinct cards is a wrong play (R9), or None if legal.

    An empty play is a draw and always legal (R6).
    """
    if not cards:
        return None
    if pending_pick:
        symbol = pending_pick["symbol"]
        if all(DECK[c].symbol == symbol for c in cards):
            return None  # R10: answering a pick needs no match
        return f"a {symbol} total of {pending_pick['total']} is pending: answer with {symbol} cards or draw"
    kind = play_kind(cards)
    if kind is None:
        return "two or more cards must be a pick stack or a combination (R8)"
    if not matches(cards[0], top_id):
        return f"{DECK[cards[0]]} does not match {DECK[top_id]} (R7)"
    return None


def starting_cards(hand, top_id: int, pending_pick: dict | None) -> list[int]:
    """Return the ids of held cards that can start a legal play, sorted."""
    if pending_pick:
        return sorted(c for c in hand if DECK[c].symbol == pending_pick["symbol"])
    return sorted(c for c in hand if matches(c, top_id))


def legal_plays(hand, top_id: int, pending_pick: dict | None) -> list[tuple[int, ...]]:
    """Enumerate every legal play (R8, R10), each an ordered tuple; the draw is not listed.

    Singles first, then pick stacks (pick_one, then pick_two), then combinations.
    """
    hand = sorted(hand)
    plays: list[tuple[int, ...]] = []
    if pending_pick:
        picks = [c for c in hand if _SYMBOL[c] == pending_pick["symbol"]]
        for k in range(1, len(picks) + 1):
            plays.extend(permutations(picks, k))
        return plays
    fits = _MATCHES[top_id]
    plays.extend((c,) for c in hand if fits[c])
    specials = [c for c in hand if c >= NORMAL_COUNT]
    if len(specials) < 2:
        return plays  # stacks and combinations take two special cards
    for symbol in PICK_SYMBOLS:
        picks = [c for c in specials if _SYMBOL[c] == symbol]
        for k in range(2, len(picks) + 1):
            plays.extend(p for p in permutations(picks, k) if fits[p[0]])
    for first in specials:
        if not fits[first]:
            continue
        for second in specials:
            if second != first and (_SYMBOL[first], _SYMBOL[second]) in COMBINATIONS:
                plays.append((first, second))
    return plays


def give_options(hand, question: dict) -> list[int]:
    """R11b: the normal cards of `hand` a question obliges its holder to choose from."""
    if "colour" in question:
        return sorted(c for c in hand if c < NORMAL_COUNT and DECK[c].colour == question["colour"])
    return sorted(c for c in hand if c < NORMAL_COUNT and DECK[c].shape == question["shape"])


def _check_cards(hand, cards) -> None:
    if not isinstance(cards, (list, tuple)) or any(not isinstance(c, int) or isinstance(c, bool) for c in cards):
        raise IllegalAction("INVALID", "cards are named by their integer ids")
    if len(set(cards)) != len(cards):
        raise IllegalAction("INVALID", "a card is named twice")
    missing = [c for c in cards if c not in hand]
    if missing:
        raise IllegalAction("NOT_IN_HAND", f"card {missing[0]} is not in your hand")


def check_action(state: GameState, seat: int, action) -> None:
    """Raise `IllegalAction` unless `action` is an answer `seat` may give now.

    A well-formed play that breaks R7/R8/R10 passes: it is a wrong play, punished by
    `apply` (R9). Everything else that is refused here changes nothing.
    """
    if state.outcome is not None:
        raise IllegalAction("NO_PENDING_PROMPT", "the game is over")
    awaiting = state.awaiting
    if seat != awaiting["seat"]:
        raise IllegalAction("NOT_YOUR_TURN", f"seat {awaiting['seat']} is to answer, not seat {seat}")
    expected = awaiting["kind"]
    if ACTION_KINDS.get(type(action)) != expected:
        raise IllegalAction("INVALID", f"a {expected} answer is expected")
    hand = state.hands[seat]
    if isinstance(action, Play):
        _check_cards(hand, action.cards)
    elif isinstance(action, Name):
        if action.value not in NAME_OPTIONS:
            raise IllegalAction("INVALID", f"name one of {', '.join(NAME_OPTIONS)}")
    elif isinstance(action, Give):
        _check_cards(hand, [action.card])
        if action.card not in give_options(hand, state.question):
            raise IllegalAction("INVALID", "that card does not answer the question")
    else:
        _check_cards(hand, action.cards)
        if len(action.cards) != awaiting["count"]:
            raise IllegalAction("INVALID", f"discard exactly {awaiting['count']} card(s)")


# --- Setting up ----------------------------------------------------------------------


def new_game(num_players: int, seed: int, max_turns: int = DEFAULT_MAX_TURNS) -> tuple[GameState, list[dict]]:
    """Shuffle, deal, turn up the start card and draw the first player (R2–R5)."""
    if not MIN_PLAYERS <= num_players <= MAX_PLAYERS:
        raise ValueError(f"Discard is for {MIN_PLAYERS} to {MAX_PLAYERS} players")
    state = GameState(seed=seed, num_players=num_players, max_turns=max_turns,
                      hands=[[] for _ in range(num_players)], market=list(range(DECK_SIZE)), pile=[])
    state.draw_rng().shuffle(state.market)
    for _ in range(HAND_SIZE[num_players]):  # R3: one at a time, round-robin from seat 0
        for hand in state.hands:
            hand.append(state.market.pop())
    while is_special(state.market[-1]):  # R4
        state.market.insert(0, state.market.pop())
    state.pile.append(state.market.pop())
    first = state.draw_rng().randrange(num_players)  # R5
    events: list[dict] = []
    _start_turn(state, events, first)
    return state, events


# --- Applying an action --------------------------------------------------------------


def apply(state: GameState, seat: int, action) -> tuple[GameState, list[dict]]:
    """Return the state after `seat` gives `action`, and the events, in order."""
    check_action(state, seat, action)
    new = state.copy()
    return new, advance(new, seat, action)


def advance(state: GameState, seat: int, action) -> list[dict]:
    """Change `state` in place by `seat`'s `action`, already checked; return the events.

    Only for a state nobody else holds: the search's playouts, which own their copy and
    whose answers come from `legal_plays`, skip a copy and a check per move this way.
    """
    state.action_count += 1
    events: list[dict] = []
    if isinstance(action, Play):
        _play(state, events, seat, list(action.cards), action.last_card)
    elif isinstance(action, Name):
        _name(state, events, seat, action.value)
    elif isinstance(action, Give):
        _give(state, events, seat, action.card)
    else:
        _discard(state, events, seat, list(action.cards), action.last_card)
    return events


def _play(s: GameState, events: list, seat: int, cards: list[int], last_card: bool) -> None:
    if not cards:
        if s.pending_pick:  # R10: take the total
            _draw(s, events, seat, s.pending_pick["total"], "pick")
            s.pending_pick = None
        else:  # R6
            _draw(s, events, seat, 1, "draw")
        _pass_turn(s, events, s.next_seat(seat))
        return
    wrong = check_play(cards, s.top_card, s.pending_pick)
    if wrong:  # R9: the cards stay in the hand
        events.append({"event": "penalty", "seat": seat, "reason": "wrong_play", "detail": wrong})
        if s.pending_pick:
            _draw(s, events, seat, s.pending_pick["total"], "pick")
            s.pending_pick = None
        _draw(s, events, seat, 2, "wrong_play")
        _pass_turn(s, events, s.next_seat(seat))
        return
    _lay(s, seat, cards)
    events.append({"event": "played", "seat": seat, "cards": list(cards)})
    s.turn_laid = True
    s.turn_called = s.turn_called or last_card
    if _won(s, events, seat):
        return
    kind = play_kind(cards)
    if kind == "combination":
        _combination(s, events, seat, DECK[cards[0]].symbol, DECK[cards[1]].symbol)
        return
    symbol = DECK[cards[0]].symbol
    if symbol in PICK_SYMBOLS:  # R10 (a single pick card, a stack, or an answer to a pick)
        total = (s.pending_pick["total"] if s.pending_pick else 0) + PICK_VALUE[symbol] * len(cards)
        s.pending_pick = {"symbol": symbol, "total": total}
        nxt = s.next_seat(seat)
        events.append({"event": "pick_pending", "seat": nxt, "symbol": symbol, "total": total})
        _pass_turn(s, events, nxt)
    elif symbol == "skip":  # R11a
        skipped = s.next_seat(seat)
        events.append({"event": "skipped", "seat": skipped})
        _pass_turn(s, events, s.next_seat(skipped))
    elif symbol == "question":  # R11b: the asker names first
        s.awaiting = {"kind": "name", "seat": seat}
    elif symbol == "drop":  # R11c
        _require_discard(s, events, seat, 1)
    else:
        _pass_turn(s, events, s.next_seat(seat))


def _combination(s: GameState, events: list, seat: int, first: str, second: str) -> None:
    """R12: only the table's effect; no pick total is created or changed."""
    effect = COMBINATIONS[(first, second)]
    if effect == "all_draw":
        for other in s.seats_from(s.next_seat(seat))[:-1]:
            _draw(s, events, other, PICK_VALUE[second], "combination")
        _pass_turn(s, events, seat)  # play again
    elif effect == "skip_all":
        for other in s.seats_from(s.next_seat(seat))[:-1]:
            events.append({"event": "skipped", "seat": other})
        _pass_turn(s, events, seat)  # play again
    elif effect == "discard":
        _require_discard(s, events, seat, COMBINATION_DISCARDS[second])
    else:
        if effect == "first_loses_special":
            candidates = s.seats_from(s.next_seat(seat))[:-1]
        else:
            candidates = [s.next_seat(seat)]
        loser = next((o for o in candidates if any(is_special(c) for c in s.hands[o])), None)
        if loser is None:
            _require_discard(s, events, seat, 1)
            return
        specials = sorted(c for c in s.hands[loser] if is_special(c))
        lost = s.draw_rng().choice(specials)
        _lay(s, loser, [lost])
        events.append({"event": "lost_special", "seat": loser, "card": lost})
        if _won(s, events, loser):
            return
        _pass_turn(s, events, s.next_seat(seat))


def _require_discard(s: GameState, events: list, seat: int, count: int) -> None:
    hand = s.hands[seat]
    if len(hand) > count:
        s.awaiting = {"kind": "discard", "seat": seat, "count": count}
        return
    # docs/rules.md, "Prompts": holding no more than you must discard, all go without a prompt.
    cards = sorted(hand)
    _lay(s, seat, cards)
    events.append({"event": "discarded", "seat": seat, "cards": cards})
    _won(s, events, seat)


def _discard(s: GameState, events: list, seat: int, cards: list[int], last_card: bool) -> None:
    _lay(s, seat, cards)
    events.append({"event": "discarded", "seat": seat, "cards": list(cards)})
    s.turn_called = s.turn_called or last_card
    if _won(s, events, seat):
        return
    _pass_turn(s, events, s.next_seat(seat))


def _name(s: GameState, events: list, asker: int, value: str) -> None:
    attribute = "colour" if value in COLOURS else "shape"
    s.question = {"seat": asker, attribute: value}
    events.append({"event": "question", "seat": asker, attribute: value})
    for other in s.seats_from(s.next_seat(asker))[:-1]:
        if give_options(s.hands[other], s.question):
            s.awaiting = {"kind": "give", "seat": other}
            return
        _draw(s, events, other, 1, "question")
    s.question = None  # nobody held one
    _pass_turn(s, events, s.next_seat(asker))


def _give(s: GameState, events: list, giver: int, card: int) -> None:
    _lay(s, giver, [card])
    events.append({"event": "gave", "seat": giver, "card": card})
    s.question = None
    if _won(s, events, giver):
        return
    _pass_turn(s, events, s.next_seat(giver))


# --- Mechanics -----------------------------------------------------------------------


def _lay(s: GameState, seat: int, cards: list[int]) -> None:
    hand = s.hands[seat]
    for c in cards:
        hand.remove(c)
        s.pile.append(c)
    s.turn_active = True


def _draw(s: GameState, events: list, seat: int, count: int, reason: str) -> None:
    """Draw up to `count` cards one at a time, reshuffling the pile when needed (R15)."""
    drawn = []
    for _ in range(count):
        if not s.market:
            if len(s.pile) <= 1:
                break
            top = s.pile.pop()
            s.market, s.pile = s.pile, [top]
            s.draw_rng().shuffle(s.market)
            events.append({"event": "reshuffled", "count": len(s.market)})
        drawn.append(s.market.pop())
    s.hands[seat].extend(drawn)
    if drawn:
        s.turn_active = True
    # "cards" is private to the drawer: view.events_for_seat strips it for everyone else.
    events.append({"event": "drew", "seat": seat, "count": len(drawn), "reason": reason, "cards": drawn})


def _won(s: GameState, events: list, seat: int) -> bool:
    """R14: a player with an empty hand wins at once; pending effects are dropped."""
    if s.hands[seat]:
        return False
    _finish(s, events, seat, "won")
    return True


def _pass_turn(s: GameState, events: list, next_seat: int) -> None:
    """End the current turn (R13, R16a) and begin `next_seat`'s."""
    owner = s.current
    hand = s.hands[owner]
    if s.turn_laid and len(hand) == 1:
        if s.turn_called:
            events.append({"event": "last_card", "seat": owner})
        else:
            events.append({"event": "penalty", "seat": owner, "reason": "last_card",
                           "detail": "one card left and no last-card call (R13)"})
            _draw(s, events, owner, 1, "last_card")
    s.quiet_turns = 0 if s.turn_active else s.quiet_turns + 1
    _start_turn(s, events, next_seat)


def _start_turn(s: GameState, events: list, seat: int) -> None:
    if s.quiet_turns >= s.num_players:
        _finish_stalemate(s, events, seat, "stalemate")
        return
    if s.turn_count >= s.max_turns:
        _finish_stalemate(s, events, seat, "max_turns")
        return
    s.turn_count += 1
    s.current = seat
    s.turn_laid = s.turn_called = s.turn_active = False
    s.awaiting = {"kind": "turn", "seat": seat}
    events.append({"event": "turn", "seat": seat})


def _finish_stalemate(s: GameState, events: list, seat: int, reason: str) -> None:
    """R16a: fewest cards wins; ties go to the first in turn order from `seat`."""
    order = s.seats_from(seat)
    winner = min(order, key=lambda o: (len(s.hands[o]), order.index(o)))
    _finish(s, events, winner, reason)


def _finish(s: GameState, events: list, winner: int, reason: str) -> None:
    """End the game with R14's ranking: winner, then fewest cards, ties in seat order after the winner."""
    after = s.seats_from(s.next_seat(winner))[:-1]
    others = sorted(after, key=lambda o: (len(s.hands[o]), after.index(o)))
    ranking = tuple({"seat": o, "cards_left": len(s.hands[o])} for o in [winner, *others])
    s.outcome = Outcome(winner=winner, ranking=ranking, reason=reason)
    s.awaiting = None
    s.pending_pick = None
    s.question = None
    events.append({"event": "game_over", "winner": winner})
