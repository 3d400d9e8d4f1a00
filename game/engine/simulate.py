"""Whole games played by strategies through the engine, for `manage.py simulate`, the
benchmark and the tests. Pure: the caller decides what to print and how to time it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

from .cards import DECK_SIZE
from .levels import choose
from .rules import apply, new_game
from .state import DEFAULT_MAX_TURNS, GameState, computer_rng
from .view import events_for_seat, public_event, view


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
              max_turns: int = DEFAULT_MAX_TURNS, budget: int | None = None) -> GameResult:
    """Play one game to its end, each seat answered by its strategy (cycled over the seats).

    Each strategy gets what a server gives a computer seat: its view, the public events
    from the game's beginning, its own RNG, and `budget` (hard's playouts).
    """
    seats = tuple(strategies[s % len(strategies)] for s in range(num_players))
    state, events = new_game(num_players, seed, max_turns)
    history = [public_event(e) for e in events]
    if check:
        check_invariants(state, events)
    while state.outcome is None:
        seat = state.awaiting["seat"]
        action = choose(seats[seat], view(state, seat), history, computer_rng(state, seat), budget)
        state, events = apply(state, seat, action)
        history.extend(public_event(e) for e in events)
        if check:
            check_invariants(state, events)
    return GameResult(seed=seed, strategies=seats, winner=state.outcome.winner, reason=state.outcome.reason,
                      turns=state.turn_count, actions=state.action_count)


# --- Round-robin tournaments ------------------------------------------------------------


def wilson_interval(wins: int, games: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a win rate (95% by default); (0, 1) for no games."""
    if games == 0:
        return 0.0, 1.0
    p = wins / games
    centre = (p + z * z / (2 * games)) / (1 + z * z / games)
    half = z * math.sqrt(p * (1 - p) / games + z * z / (4 * games * games)) / (1 + z * z / games)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class PairResult:
    """`first` against `second` over `games` two-player games."""

    first: str
    second: str
    games: int
    first_wins: int

    @property
    def rate(self) -> float:
        return self.first_wins / self.games

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.first_wins, self.games)

    def to_json(self) -> dict:
        low, high = self.interval
        return {"first": self.first, "second": self.second, "games": self.games, "first_wins": self.first_wins,
                "rate": round(self.rate, 4), "ci95": [round(low, 4), round(high, 4)]}


def play_pair(first: str, second: str, games: int, seed: int, *, budget: int | None = None) -> PairResult:
    """Play `games` two-player games, game k with seed `seed + k` and `first` in seat k % 2."""
    wins = 0
    for k in range(games):
        seats = (first, second) if k % 2 == 0 else (second, first)
        result = play_game(2, seed + k, seats, budget=budget)
        wins += result.winner == k % 2
    return PairResult(first, second, games, wins)


def tournament(names: tuple[str, ...], games: int, seed: int, *, budget: int | None = None,
               on_pair=None) -> list[PairResult]:
    """Every pair of `names` plays `games` seeded two-player games (seats alternated); same seeds for every pair."""
    results = []
    for first, second in combinations(names, 2):
        results.append(play_pair(first, second, games, seed, budget=budget))
        if on_pair is not None:
            on_pair(results[-1])
    return results
