"""The game state: plain data that serialises to JSON and back exactly.

`GameState` is treated as immutable by everyone outside this package: `rules.apply`
works on a `copy()` and returns the new state, so a refused action never half-changes
the old one. Every random choice comes from `draw_rng`, whose whole state is
`(seed, rng_counter)`, so a saved game replays exactly (docs/rules.md, "Setting up").
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields

HAND_SIZE = {2: 8, 3: 6, 4: 5, 5: 5, 6: 5, 7: 5, 8: 4}  # R3
MIN_PLAYERS, MAX_PLAYERS = 2, 8  # R2
DEFAULT_MAX_TURNS = 1000  # R16a


class IllegalAction(Exception):
    """An action that is not a move at all (R9's second paragraph): nothing changes.

    `code` is one of docs/protocol.md's game error codes; `detail` says why in words.
    """

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a game ended (R14, R16a): the winner and every seat ranked."""

    winner: int
    ranking: tuple[dict, ...]  # ({"seat", "cards_left"}, …), winner first
    reason: str  # "won", "stalemate" or "max_turns"

    def to_json(self) -> dict:
        return {"winner": self.winner, "ranking": [dict(r) for r in self.ranking], "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict) -> "Outcome":
        return cls(data["winner"], tuple(dict(r) for r in data["ranking"]), data["reason"])


@dataclass(slots=True)
class GameState:
    seed: int
    num_players: int
    max_turns: int
    hands: list[list[int]]
    market: list[int]  # the draw pile; its top is the last element
    pile: list[int]  # the discard pile; its top card is the last element
    rng_counter: int = 0
    current: int = 0  # whose turn it is
    # The decision the game waits for, or None when it is over:
    # {"kind": "turn" | "name" | "give" | "discard", "seat": s, …}.
    awaiting: dict | None = None
    pending_pick: dict | None = None  # {"symbol", "total"} (R10)
    question: dict | None = None  # {"seat": asker, "colour" | "shape": value} (R11b)
    turn_count: int = 0  # turns begun, for MAX_TURNS (R16a)
    turn_laid: bool = False  # the current turn has laid cards (R13)
    turn_called: bool = False  # an answer of the current turn carried the last-card call (R13)
    turn_active: bool = False  # a card was laid or drawn during the current turn (R16a)
    quiet_turns: int = 0  # consecutive turns with nothing laid or drawn (R16a)
    action_count: int = 0  # actions applied so far; computers derive their RNG from it
    outcome: Outcome | None = None

    def copy(self) -> "GameState":
        # Field by field rather than through `fields()`: the search copies states by the
        # hundred thousand, and the loop over names was the biggest cost of a playout.
        return GameState(
            seed=self.seed, num_players=self.num_players, max_turns=self.max_turns,
            hands=[list(hand) for hand in self.hands], market=list(self.market), pile=list(self.pile),
            rng_counter=self.rng_counter, current=self.current,
            awaiting=dict(self.awaiting) if self.awaiting is not None else None,
            pending_pick=dict(self.pending_pick) if self.pending_pick is not None else None,
            question=dict(self.question) if self.question is not None else None,
            turn_count=self.turn_count, turn_laid=self.turn_laid, turn_called=self.turn_called,
            turn_active=self.turn_active, quiet_turns=self.quiet_turns, action_count=self.action_count,
            outcome=self.outcome,
        )

    @property
    def top_card(self) -> int:
        return self.pile[-1]

    @property
    def is_over(self) -> bool:
        return self.outcome is not None

    def draw_rng(self) -> random.Random:
        """Return the RNG for the game's next random choice and advance the counter.

        Seeding from a string hashes it (SHA-512), so each choice gets an independent,
        reproducible generator and the saved state stays two integers.
        """
        rng = random.Random(f"discard:{self.seed}:{self.rng_counter}")
        self.rng_counter += 1
        return rng

    def next_seat(self, seat: int, step: int = 1) -> int:
        return (seat + step) % self.num_players

    def seats_from(self, seat: int) -> list[int]:
        """Return every seat, going round from `seat` (included)."""
        return [(seat + k) % self.num_players for k in range(self.num_players)]

    def to_json(self) -> dict:
        data = {name: getattr(self, name) for name in _FIELDS}
        data["hands"] = [list(hand) for hand in self.hands]
        data["market"] = list(self.market)
        data["pile"] = list(self.pile)
        for name in ("awaiting", "pending_pick", "question"):
            if data[name] is not None:
                data[name] = dict(data[name])
        data["outcome"] = self.outcome.to_json() if self.outcome else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> "GameState":
        values = {name: data[name] for name in _FIELDS}
        values["hands"] = [list(hand) for hand in data["hands"]]
        values["market"] = list(data["market"])
        values["pile"] = list(data["pile"])
        values["outcome"] = Outcome.from_json(data["outcome"]) if data["outcome"] else None
        return cls(**values)


_FIELDS = tuple(f.name for f in fields(GameState))


def computer_rng(state: GameState, seat: int) -> random.Random:
    """Return a computer seat's RNG for its next decision (docs/rules.md, "Setting up").

    Derived from the game seed, the seat and the action count, so computers never touch
    the game's RNG and a replay makes the same computer choices.
    """
    return random.Random(f"computer:{state.seed}:{seat}:{state.action_count}")
