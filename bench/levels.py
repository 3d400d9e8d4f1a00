"""Computer levels: the win-rate goals of the levels issue and the cost of a hard decision.

Not a test. Plays seeded games through the engine, exactly as `manage.py simulate` does
(view + public history + the seat's RNG), and times every `hard` decision (the call to
`choose` alone, on this process's one core): wall time, and the thread's CPU time, which
leaves out the waits for a core when other processes load the machine.

    .venv/bin/python bench/levels.py [--games 400] [--budget 60] [--seed 0] [--matches hard-normal,...]

Matches (goal in brackets): `hard-normal` hard against normal, 2 players (hard wins ≥ 60%);
`hard-3normal` hard as one of 4 against three normal (≥ 40%, fair share 25%);
`normal-easy` (normal wins ≥ 70%); `easy-random` (easy wins ≥ 60%). Game k uses seed
S + k and puts the first strategy in seat k mod players. The last line is JSON.
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from game.engine import DEFAULT_PLAYOUTS, apply, choose, computer_rng, new_game, public_event, view  # noqa: E402
from game.engine.simulate import wilson_interval  # noqa: E402

MATCHES = {
    "hard-normal": (2, "hard", "normal", 0.60),
    "hard-3normal": (4, "hard", "normal", 0.40),
    "normal-easy": (2, "normal", "easy", 0.70),
    "easy-random": (2, "easy", "random", 0.60),
}


def play(num_players: int, seed: int, seats: list[str], budget: int, timings: list[float]) -> int:
    """Play one game; append the seconds of every hard decision to `timings`; return the winner."""
    state, events = new_game(num_players, seed)
    history = [public_event(e) for e in events]
    while state.outcome is None:
        seat = state.awaiting["seat"]
        seen, rng = view(state, seat), computer_rng(state, seat)
        started, started_cpu = time.perf_counter(), time.thread_time()
        action = choose(seats[seat], seen, history, rng, budget)
        if seats[seat] == "hard":
            timings.append((time.perf_counter() - started, time.thread_time() - started_cpu))
        state, events = apply(state, seat, action)
        history.extend(public_event(e) for e in events)
    return state.outcome.winner


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--games", type=int, default=400)
    parser.add_argument("--budget", type=int, default=DEFAULT_PLAYOUTS, help="hard's playouts per decision")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--matches", default=",".join(MATCHES))
    args = parser.parse_args()

    report = {"games": args.games, "budget": args.budget, "seed": args.seed, "matches": {}}
    for name in args.matches.split(","):
        players, first, other, goal = MATCHES[name]
        timings: list[float] = []
        wins = 0
        started = time.perf_counter()
        for k in range(args.games):
            seats = [other] * players
            seats[k % players] = first
            wins += play(players, args.seed + k, seats, args.budget, timings) == k % players
        elapsed = time.perf_counter() - started
        low, high = wilson_interval(wins, args.games)
        figures = {"players": players, "first": first, "other": other, "first_wins": wins,
                   "rate": round(wins / args.games, 4), "ci95": [round(low, 4), round(high, 4)], "goal": goal,
                   "met": wins / args.games >= goal, "seconds": round(elapsed, 1)}
        line = (f"{name:>13}: {first} wins {wins}/{args.games} = {100 * wins / args.games:.1f}% "
                f"[95% CI {100 * low:.1f}–{100 * high:.1f}%] goal ≥ {100 * goal:.0f}% "
                f"{'met' if figures['met'] else 'NOT MET'}; {elapsed:.1f} s")
        if timings:
            for key, column in (("hard_decision_ms", 0), ("hard_decision_cpu_ms", 1)):
                ms = [1000 * t[column] for t in timings]
                figures[key] = {"count": len(ms), "mean": round(statistics.fmean(ms), 2),
                                "p50": round(percentile(ms, 0.50), 2),
                                "p99": round(percentile(ms, 0.99), 2), "max": round(max(ms), 2)}
            d, c = figures["hard_decision_ms"], figures["hard_decision_cpu_ms"]
            line += (f"; hard decisions: {d['count']}, wall mean {d['mean']} ms, p99 {d['p99']}, max {d['max']}; "
                     f"CPU mean {c['mean']} ms, p99 {c['p99']}, max {c['max']}")
        print(line, flush=True)
        report["matches"][name] = figures
    print(json.dumps(report, separators=(", ", ": ")))


if __name__ == "__main__":
    main()
