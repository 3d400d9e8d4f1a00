"""Engine throughput: actions applied per second on one core (goal: 20,000/s).

Not a test. Records the actions of seeded normal-vs-random games, then times
`apply` replaying them (the engine alone), and separately the whole loop a server or
`simulate` runs (view + public history + strategy + apply).

    .venv/bin/python bench/engine.py [--games 300] [--players 4]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from game.engine import STRATEGIES, apply, new_game, public_event, view  # noqa: E402
from game.engine.state import computer_rng  # noqa: E402


def record(num_players: int, seed: int) -> list[tuple[int, object]]:
    state, events = new_game(num_players, seed)
    history = [public_event(e) for e in events]
    actions = []
    while state.outcome is None:
        seat = state.awaiting["seat"]
        strategy = STRATEGIES["normal" if seat % 2 == 0 else "random"]
        action = strategy(view(state, seat), history, computer_rng(state, seat))
        actions.append((seat, action))
        state, events = apply(state, seat, action)
        history.extend(public_event(e) for e in events)
    return actions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--games", type=int, default=300)
    parser.add_argument("--players", type=int, default=4)
    args = parser.parse_args()

    games = [record(args.players, seed) for seed in range(args.games)]
    total = sum(len(g) for g in games)

    started = time.perf_counter()
    for seed, actions in enumerate(games):
        state, _ = new_game(args.players, seed)
        for seat, action in actions:
            state, _ = apply(state, seat, action)
    apply_seconds = time.perf_counter() - started

    started = time.perf_counter()
    for seed in range(args.games):
        record(args.players, seed)
    loop_seconds = time.perf_counter() - started

    print(f"{args.games} games of {args.players} players, {total} actions")
    print(f"apply alone:             {total / apply_seconds:,.0f} actions/s (goal 20,000/s)")
    print(f"view + strategy + apply: {total / loop_seconds:,.0f} actions/s")


if __name__ == "__main__":
    main()
