"""Play all-computer games through the engine and summarise who wins (issues: simulate, levels)."""

import json
import sys
import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from game.engine import DEFAULT_PLAYOUTS, STRATEGIES
from game.engine.simulate import InvariantBroken, play_game, tournament


class Command(BaseCommand):
    help = ("Play N all-computer games through the engine and print a summary, or with --tournament "
            "a round robin of two-player matches with 95% confidence intervals.")

    def add_arguments(self, parser):
        parser.add_argument("--games", type=int, default=100, help="games in all, or per pair with --tournament")
        parser.add_argument("--players", type=int, default=2)
        parser.add_argument("--seed", type=int, default=0, help="game k uses seed S + k")
        parser.add_argument("--strategies", default="computer,random",
                            help=f"one per seat, cycled (hard,normal,normal,normal: one hard among three normal); "
                                 f"known: {', '.join(STRATEGIES)}")
        parser.add_argument("--tournament", metavar="NAMES",
                            help="comma-separated strategies: every pair plays --games two-player games, seats alternated")
        parser.add_argument("--budget", type=int, default=None,
                            help=f"playouts per hard decision (default {DEFAULT_PLAYOUTS})")
        parser.add_argument("--check", action="store_true", help="assert R16 and the view rule after every action")
        parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")

    def handle(self, *args, games, players, seed, strategies, tournament, budget, check, json: bool, **options):
        if games < 1:
            raise CommandError("--games must be at least 1")
        if budget is not None and budget < 1:
            raise CommandError("--budget must be at least 1")
        if tournament is not None:
            self._tournament(_names(tournament, at_least=2, distinct=True), games, seed, budget, json)
            return
        names = _names(strategies, at_least=1)
        if not 2 <= players <= 8:
            raise CommandError("--players must be 2 to 8")
        wins = Counter({name: 0 for name in names})
        turns = 0
        checks = "ok"
        show_progress = self.stdout.isatty() and not json
        started = time.perf_counter()
        played = 0
        for k in range(games):
            # Rotate the strategies over the seats so no strategy always holds seat 0.
            rotated = names[k % len(names):] + names[:k % len(names)]
            try:
                result = play_game(players, seed + k, rotated, check=check, budget=budget)
            except InvariantBroken as broken:
                checks = f"game {k} (seed {seed + k}): {broken}"
                break
            played += 1
            wins[result.winning_strategy] += 1
            turns += result.turns
            if show_progress:
                self._progress(k + 1, games)
        elapsed = time.perf_counter() - started
        if show_progress:
            self.stdout.write("")
        summary = {"games": played, "wins": dict(wins), "mean_turns": round(turns / max(played, 1), 2),
                   "games_per_second": round(played / elapsed, 2) if elapsed else None, "checks": checks}
        for name, count in wins.items():
            self.stdout.write(f"{name:>10}: {count} wins ({100 * count / max(played, 1):.1f}%)")
        self.stdout.write(f"mean turns per game: {summary['mean_turns']}; "
                          f"{summary['games_per_second']} games/s; checks: {checks}")
        if json:
            self.stdout.write(_dumps(summary))
        if checks != "ok":
            sys.exit(1)

    def _tournament(self, names: tuple[str, ...], games: int, seed: int, budget: int | None, json: bool) -> None:
        started = time.perf_counter()
        self.stdout.write(f"round robin, {games} two-player games per pair (seeds {seed}–{seed + games - 1}, "
                          f"seats alternated); win rate of the first named, 95% Wilson interval")

        def show(pair) -> None:
            low, high = pair.interval
            self.stdout.write(f"{pair.first:>10} vs {pair.second:<10} {pair.first_wins:>5}/{pair.games:<5} "
                              f"{100 * pair.rate:5.1f}%  [{100 * low:5.1f}%, {100 * high:5.1f}%]")
            self.stdout.flush()

        results = tournament(names, games, seed, budget=budget, on_pair=show)
        elapsed = time.perf_counter() - started
        self.stdout.write(f"{len(results) * games} games in {elapsed:.1f} s")
        if json:
            self.stdout.write(_dumps({"tournament": list(names), "games_per_pair": games, "seed": seed,
                                      "budget": budget, "pairs": [r.to_json() for r in results],
                                      "seconds": round(elapsed, 2)}))

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // total
        self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
        self.stdout.flush()


def _names(text: str, *, at_least: int, distinct: bool = False) -> tuple[str, ...]:
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [n for n in names if n not in STRATEGIES]
    if unknown or len(names) < at_least:
        raise CommandError(f"unknown strategies {unknown} or fewer than {at_least}; known: {', '.join(STRATEGIES)}")
    if distinct and len(set(names)) != len(names):
        raise CommandError("a strategy is named twice")
    return names


def _dumps(value) -> str:
    return json.dumps(value, separators=(", ", ": "))
