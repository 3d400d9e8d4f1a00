"""Keep N bot players in 4-seat games against a running server and measure move latency.

    python manage.py loadtest --url ws://127.0.0.1:8000 --players 400 --think 3 --duration 60

Talks to the server only over its WebSockets (lobby_site/loadgen.py): no database, no
SECRET_KEY. A move is an answer to a prompt that the server accepted; its latency runs from
sending the answer to the first message on that seat's socket holding a frame numbered after
the answered prompt (the first frame of the change). Moves are counted in a window that opens
once every bot has been spawned and seated (its seat socket CONNECTED; at most 30 s are waited
for the last ones, none once a connection failed) and `--warmup` has passed, and lasts
`--duration` seconds.
A live progress bar (stderr) shows moves/s and p99 over the last 5 s. The last stdout line is
a JSON summary; the exit status is 1 when any error, msg_id gap or failed connection occurred.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError
import uvloop
from tqdm import tqdm

from lobby_site.loadgen import LoadConfig, Stats, raise_open_file_limit, run_load, summary

PROGRESS_INTERVAL = 0.5  # seconds between progress bar refreshes


class Command(BaseCommand):
    help = "Bots over real sockets keep N players in 4-seat games; print a JSON summary of move latency."
    requires_system_checks = []  # it only talks to a server: nothing of this process's setup matters

    def add_arguments(self, parser):
        parser.add_argument("--url", default="ws://127.0.0.1:8000", help="the server's ws:// or wss:// base URL")
        parser.add_argument("--players", type=int, required=True, help="bots to keep seated (rounded up to 4s)")
        parser.add_argument("--think", type=float, default=3.0, help="seconds before answering a prompt (±20%%)")
        parser.add_argument("--duration", type=float, required=True, help="seconds of measuring")
        parser.add_argument("--warmup", type=float, default=0.0,
                            help="seconds after the last bot is seated before measuring")
        parser.add_argument("--spawn-rate", type=float, default=50.0, help="bots started per second")
        parser.add_argument("--batch", action=argparse.BooleanOptionalAction, default=True,
                            help="ask the server for batched messages (HELLO batch)")
        parser.add_argument("--seed", type=int, default=None, help="seed of the bots' choices")
        parser.add_argument("--spectators", type=int, default=0,
                            help="spectators watching the bots' games (spread over the newest 50 rooms); with "
                                 "--players 0, the games of the lobby's live list (another process's bots)")
        parser.add_argument("--rematch", action="store_true",
                            help="the bots of a finished game play its rematch (REMATCH / JOIN_REMATCH) instead of "
                                 "finding new seats, and spectators follow their table to it (?follow=1)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument("--latencies", metavar="PATH", default=None,
                            help="also write every measured move to PATH, one a line: when its answer was sent "
                                 "(Unix time) and its latency (ms); runs can then be pooled (bench/capacity.py "
                                 "--repeat) and slow moves set beside the server's logs")

    def handle(self, *args, url, players, think, duration, warmup, spawn_rate, batch, seed, no_progress,
               spectators=0, rematch=False, latencies=None, **options):
        if players < 0 or (players == 0 and spectators < 1) or duration <= 0 or spawn_rate <= 0 or think < 0 \
                or warmup < 0:
            raise CommandError("--players (or, with --players 0, --spectators), --duration and --spawn-rate must be "
                               "positive; --think and --warmup not negative")
        if not url.startswith(("ws://", "wss://")):
            raise CommandError("--url must be a ws:// or wss:// URL")
        seated = -(-players // 4) * 4
        if seated != players:
            self.stderr.write(f"{players} players do not fill 4-seat rooms: running {seated}")
        raise_open_file_limit()
        # Thousands of sockets in one process: with Python's default thresholds its full garbage
        # collections stalled it 100–400 ms every few seconds, and those stalls were counted as
        # the server's move latency. Young objects die young here; full collections stay rare.
        gc.freeze()
        gc.set_threshold(50_000, 20, 1_000)
        config = LoadConfig(base_url=url, players=seated, think=think, batch=batch, seed=seed, spectators=spectators,
                            rematch=rematch)
        stats = Stats(players=seated)
        started, cpu_started = time.time(), time.process_time()
        total = seated / spawn_rate + warmup + duration
        # uvloop: the bots share the machine with the servers they load, and on uvloop they
        # took 13% less CPU (bench/README.md, nineteenth session).
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(self._run(config, stats, spawn_rate, warmup, duration, total, show=not no_progress))
        cpu_pct = round(100 * (time.process_time() - cpu_started) / max(time.time() - started, 1e-9), 1)
        result = summary(stats, config, client_cpu_pct=cpu_pct)
        if latencies:
            with open(latencies, "w") as out:
                out.writelines(f"{sent:.4f} {1000 * latency:.3f}\n"
                               for sent, latency in zip(stats.answered_at, stats.latencies))
        self.stdout.write(json.dumps(result))
        failures = {"errors": result["errors"], "gaps": result["gaps"], "connect_failures": result["connect_failures"],
                    "spectator_gaps": result["spectator_gaps"]}
        if any(failures.values()):
            raise CommandError(", ".join(f"{key} {value}" for key, value in failures.items()))

    async def _run(self, config, stats, spawn_rate, warmup, duration, total, show):
        load = asyncio.create_task(run_load(config, stats, spawn_rate=spawn_rate, warmup=warmup, duration=duration))
        bar = tqdm(total=round(total, 1), unit="s", disable=not show, file=sys.stderr,
                   bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s {postfix}")
        began = time.perf_counter()
        try:
            while not load.done():
                # Without the bar, nothing to refresh: its counts walk every seat, which at
                # thousands of bots cost the load generator 4% of a core (bench/README.md).
                await asyncio.wait({load}, timeout=PROGRESS_INTERVAL if show else None)
                if not show:
                    continue
                rate, p99 = stats.recent_rate_and_p99()
                totals = stats.seat_totals()
                bar.n = min(total, time.perf_counter() - began)
                bar.set_postfix_str(
                    f"seated {sum(seat.connected.is_set() for seat in stats.seats)}/{config.players} "
                    f"moves/s {rate:.1f} p99 {'-' if p99 is None else f'{1000 * p99:.0f} ms'} "
                    f"errors {sum(stats.errors.values())} gaps {totals['gaps']}")
            load.result()
        finally:
            bar.close()
