"""Text fixtures and small helpers for the engine tests: scenarios read like the rules.

Hands, piles and markets are written as card text ("red/cup blue/cup#1 green/?"); piles and
markets list their cards bottom first, so the last card written is the top card (the next
card drawn, for the market).
"""

from __future__ import annotations

import json

from game.engine import (
    DECK,
    Discard,
    GameState,
    Give,
    IllegalAction,
    Name,
    Play,
    apply,
    computer_rng,
    legal_plays,
    parse_cards,
    prompt_for,
    public_event,
    view,
)


def hand(text: str) -> list[int]:
    """Return the ids of the cards written in `text`."""
    return parse_cards(text)


def ids(text: str) -> tuple[int, ...]:
    return tuple(parse_cards(text))


def make_state(
    hands: list[str],
    pile: str = "red/cup#4",
    market: str = "",
    current: int = 0,
    pending: tuple[str, int] | None = None,
    fill: bool = True,
    max_turns: int = 1000,
    seed: int = 1,
) -> GameState:
    """Build a scenario: seat `current` is asked for its turn.

    With `fill`, every id not written anywhere goes into the market below the written
    market cards (so R16 holds and draws come from the written cards first).
    """
    hand_ids = [hand(text) for text in hands]
    pile_ids, market_ids = hand(pile), hand(market)
    written = [c for h in hand_ids for c in h] + pile_ids + market_ids
    assert len(written) == len(set(written)), "a card is written twice in the scenario"
    if fill:
        market_ids = [c for c in range(len(DECK)) if c not in set(written)] + market_ids
    return GameState(
        seed=seed,
        num_players=len(hands),
        max_turns=max_turns,
        hands=hand_ids,
        market=market_ids,
        pile=pile_ids,
        current=current,
        awaiting={"kind": "turn", "seat": current},
        pending_pick={"symbol": pending[0], "total": pending[1]} if pending else None,
        turn_count=1,
    )


def play(state: GameState, seat: int, cards: str = "", call: bool = False):
    """Seat `seat` answers its turn prompt with `cards` ("" = draw)."""
    return apply(state, seat, Play(cards=ids(cards), last_card=call))


def draw(state: GameState, seat: int):
    return apply(state, seat, Play())


def name(state: GameState, seat: int, value: str):
    return apply(state, seat, Name(value))


def give(state: GameState, seat: int, card: str):
    return apply(state, seat, Give(ids(card)[0]))


def discard(state: GameState, seat: int, cards: str, call: bool = False):
    return apply(state, seat, Discard(cards=ids(cards), last_card=call))


# --- Reading the results ---------------------------------------------------------------


def kinds(events: list[dict]) -> list[str]:
    return [e["event"] for e in events]


def only(events: list[dict], kind: str, **fields) -> list[dict]:
    """Return the events of `kind` whose fields equal `fields`."""
    return [e for e in events if e["event"] == kind and all(e.get(k) == v for k, v in fields.items())]


def draws(events: list[dict], seat: int | None = None) -> list[tuple[int, int, str]]:
    """Return the `drew` events as (seat, count, reason), in order."""
    return [(e["seat"], e["count"], e["reason"]) for e in events
            if e["event"] == "drew" and (seat is None or e["seat"] == seat)]


def top(state: GameState) -> str:
    return str(DECK[state.top_card])


def cards_text(card_ids) -> str:
    return " ".join(str(DECK[c]) for c in card_ids)


def held(state: GameState, seat: int) -> set[int]:
    return set(state.hands[seat])


def snapshot(state: GameState) -> str:
    """A deep, comparable copy of the whole state (to_json shares the live lists)."""
    return json.dumps(state.to_json(), sort_keys=True)


def assert_conserved(state: GameState) -> None:
    """R16: market + pile + hands hold the 120 ids, each exactly once."""
    everything = list(state.market) + list(state.pile) + [c for h in state.hands for c in h]
    assert sorted(everything) == list(range(len(DECK)))


def assert_refused(state: GameState, seat: int, action, code: str) -> IllegalAction:
    """R9 (second paragraph): not a move at all, so it raises and changes nothing."""
    before = snapshot(state)
    try:
        apply(state, seat, action)
    except IllegalAction as error:
        assert error.code == code, f"expected {code}, got {error.code}: {error.detail}"
        assert snapshot(state) == before
        return error
    raise AssertionError(f"{action!r} by seat {seat} was accepted; expected IllegalAction {code}")


# --- Whole games -----------------------------------------------------------------------


def legal_answers(state: GameState, seat: int) -> list:
    """Every legal answer to `seat`'s prompt (each play and the draw count as one answer)."""
    prompt = prompt_for(state, seat)
    kind = prompt["kind"]
    h = state.hands[seat]
    if kind == "turn":
        return [Play(cards=p) for p in legal_plays(h, state.top_card, state.pending_pick)] + [Play()]
    if kind == "name":
        return [Name(v) for v in prompt["options"]]
    if kind == "give":
        return [Give(c) for c in prompt["options"]]
    ordered = sorted(h)
    # Not every discard set: enough distinct ones to explore, in a fixed order.
    count = prompt["count"]
    return [Discard(cards=tuple(ordered[i:i + count])) for i in range(len(ordered) - count + 1)]


def run_game(new_state: GameState, strategies: dict, on_decision=None, limit: int = 5000):
    """Play a game to its end with `strategies[seat](view, history, rng)`; return the final state.

    The history is the public events from `new_state` on (none before it: a scenario's
    strategies must cope with a history that does not explain the pile).
    `on_decision(state, seat, view, action)` is called before each action is applied.
    """
    state = new_state
    history: list[dict] = []
    for _ in range(limit):
        if state.outcome is not None:
            return state
        seat = state.awaiting["seat"]
        seen = json.loads(json.dumps(view(state, seat)))  # plain data: the strategy gets nothing else
        action = strategies[seat](seen, json.loads(json.dumps(history)), computer_rng(state, seat))
        if on_decision is not None:
            on_decision(state, seat, seen, action)
        state, events = apply(state, seat, action)
        history.extend(public_event(e) for e in events)
    raise AssertionError("the game did not end")
