"""What a server process's clock costs the ORM thread: the CPU time of one tick and of its parts.

Every process ticks every CLOCK_INTERVAL (1 s) on its one ORM thread, where every move's
service call runs too: a move that arrives during a tick waits for it. Runs against a fresh,
migrated database with nothing due (a tick's cost when there is nothing to do, its usual case):

    .venv/bin/python bench/clock.py [--ticks 2000] [--database-url postgres://…]

Without `--database-url`, a SQLite file in a temporary folder. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_per_call(function, calls: int) -> tuple[float, float]:
    """Return (CPU µs, wall µs) per call of `function`, averaged over `calls` calls."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        function()
    return (time.process_time() - cpu) / calls * 1e6, (time.perf_counter() - wall) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=2000)
    parser.add_argument("--database-url", default="", help="a database to migrate and use (default: SQLite in a temp dir)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-clock-")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{folder}/clock.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lobby_site.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from rooms import clock, services

    clock.clock_tick()  # the first tick beats and sweeps; the measured ones do what a tick usually does
    figures = {"database": "postgresql" if args.database_url else "sqlite", "ticks": args.ticks}
    for name, function in (("tick", clock.clock_tick), ("sweep", services.processes_sweep),
                           ("deadlines_due", services.deadlines_due)):
        cpu, wall = cpu_per_call(function, args.ticks)
        figures[f"{name}_cpu_us"], figures[f"{name}_wall_us"] = round(cpu), round(wall)
        print(f"{name:>14}: {cpu:7.0f} µs CPU, {wall:7.0f} µs wall a call", file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
