"""Play all-computer games through the engine and summarise who wins (issue: simulate)."""

import json
import sys
import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from game.engine import STRATEGIES
from game.engine.simulate import InvariantBroken, play_game


class Command(BaseCommand):
    help = "Play N all-computer games through the engine and print a summary."

    def add_arguments(self, parser):
        parser.add_argument("--games", type=int, default=100)
        parser.add_argument("--players", type=int, default=2)
        parser.add_argument("--seed", type=int, default=0, help="game k uses seed S + k")
        parser.add_argument("--strategies", default="computer,random",
                            help=f"one per seat, cycled; known: {', '.join(STRATEGIES)}")
        parser.add_argument("--check", action="store_true", help="assert R16 and the view rule after every action")
        parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")

    def handle(self, *args, games, players, seed, strategies, check, json: bool, **options):
        names = tuple(s.strip() for s in strategies.split(",") if s.strip())
        unknown = [n for n in names if n not in STRATEGIES]
        if unknown or not names:
            raise CommandError(f"unknown strategies {unknown}; known: {', '.join(STRATEGIES)}")
        if not 2 <= players <= 8:
            raise CommandError("--players must be 2 to 8")
        if games < 1:
            raise CommandError("--games must be at least 1")
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
                result = play_game(players, seed + k, rotated, check=check)
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

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // total
        self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
        self.stdout.flush()


def _dumps(value) -> str:
    return json.dumps(value, separators=(", ", ": "))
