"""The computer levels the server offers (docs/protocol.md "Computer levels") and one way to ask them.

`choose(level, view, history, rng, budget=None)` is the server's single entry point: the
seat's view, the game's public events from its beginning, the seat's RNG, and for `hard`
the number of playouts it may spend (None: `DEFAULT_PLAYOUTS`).
"""

from __future__ import annotations

import random

from .computer import easy_player, normal_player, random_player
from .search import DEFAULT_PLAYOUTS, hard_player

LEVELS = ("easy", "normal", "hard")

# Every strategy by name: the levels, `computer` (normal's name before there were levels)
# and R17's random player, which `simulate` measures the others against.
STRATEGIES = {
    "easy": easy_player,
    "normal": normal_player,
    "hard": hard_player,
    "computer": normal_player,
    "random": random_player,
}


def choose(level: str, view: dict, history: list[dict], rng: random.Random, budget: int | None = None):
    """Return `level`'s answer to `view["prompt"]`; `budget` is hard's playout count (others ignore it)."""
    if level == "hard":
        return hard_player(view, history, rng, DEFAULT_PLAYOUTS if budget is None else budget)
    try:
        strategy = STRATEGIES[level]
    except KeyError:
        raise ValueError(f"unknown computer level {level!r}; known: {', '.join(STRATEGIES)}") from None
    return strategy(view, history, rng)
