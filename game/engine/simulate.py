"""Whole games played by strategies through the engine, for `manage.py simulate`, the
benchmark and the tests. Pure: the caller decides what to print and how to time it."""

from __future__ import annotations

from dataclasses import dataclass

from .cards import DECK_SIZE
from .computer import STRATEGIES
from .rules import apply, new_game
from .state import DEFAULT_MAX_TURNS, GameState, computer_rng
from .view import events_for_seat, view


class InvariantBroken(AssertionError):
    """A check of `--check` failed: the message says which rule and where."""


@dataclass(frozen=True, slots=True)
class GameResult:
    seed: int
    strategies: tuple[str, ...]  # per seat
    winner: int
    reason: str
    turns: int
    actions: int

    @property
    def winning_strategy(self) -> str:
        return self.strategies[self.winner]


def check_invariants(state: GameState, events: list[dict]) -> None:
    """Assert R16 (every id exactly once) and the view rule (no seat sees another's hand)."""
    everything = state.market + state.pile + [c for hand in state.hands for c in hand]
    if len(everything) != DECK_SIZE or set(everything) != set(range(DECK_SIZE)):
        raise InvariantBroken(f"R16 conservation broken after action {state.action_count}")
    for seat in range(state.num_players):
        seen = view(state, seat)
        shown = {card["id"] for card in seen["you"]["hand"]}
        if shown != set(state.hands[seat]):
            raise InvariantBroken(f"seat {seat}'s view does not show its own hand")
        others = {c for other, hand in enumerate(state.hands) if other != seat for c in hand}
        for event in events_for_seat(events, seat):
            if event["event"] == "drew" and event["seat"] != seat and "cards" in event:
                raise InvariantBroken(f"seat {seat} was shown cards seat {event['seat']} drew")
        if others & _card_ids(seen):
            raise InvariantBroken(f"seat {seat}'s view shows another seat's card")


def _card_ids(value) -> set[int]:
    """Every card object's id anywhere in a view (the own hand excepted by the caller)."""
    found: set[int] = set()
    stack = [{k: v for k, v in value.items() if k != "you"}]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "kind" in item and "id" in item and "colour" in item:
                found.add(item["id"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def play_game(num_players: int, seed: int, strategies: tuple[str, ...], *, check: bool = False,
              max_turns: int = DEFAULT_MAX_TURNS) -> GameResult:
    """Play one game to its end, each seat answered by its strategy (cycled over the seats)."""
    seats = tuple(strategies[s % len(strategies)] for s in range(num_players))
    state, events = new_game(num_players, seed, max_turns)
    if check:
        check_invariants(state, events)
    while state.outcome is None:
        seat = state.awaiting["seat"]
        action = STRATEGIES[seats[seat]](view(state, seat), computer_rng(state, seat))
        state, events = apply(state, seat, action)
        if check:
            check_invariants(state, events)
    return GameResult(seed=seed, strategies=seats, winner=state.outcome.winner, reason=state.outcome.reason,
                      turns=state.turn_count, actions=state.action_count)
