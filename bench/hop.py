"""What the hop from the event loop to a service thread and back costs, without the service.

Not a test. A move's service call (`game.services.game_answer`) runs on one of the moves'
threads (settings.DB_THREADS, lobby_site.move_threads); before, it went through asgiref's
SyncToAsync (`database_sync_to_async` with an executor of its own), as every other service
call still does. This calls a function that does nothing `--calls` times, `--concurrency`
callers at a time as the sockets of a busy process are, through each way in turn (twice
each, alternating), on two threads, and prints the process's CPU time and the wall time a call.

    .venv/bin/python bench/hop.py [--calls 20000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def nothing(k: int) -> int:
    return k


async def timed(call, calls: int, concurrency: int) -> tuple[float, float]:
    async def caller(share: int) -> None:
        for k in range(share):
            await call(k=k)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller(calls // concurrency) for _ in range(concurrency)))
    return (time.process_time() - cpu) / calls * 1e6, (time.perf_counter() - wall) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lobby_site.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from channels.db import database_sync_to_async

    from lobby_site.move_threads import MoveThreads

    ways = {
        "asgiref SyncToAsync": database_sync_to_async(nothing, thread_sensitive=False,
                                                      executor=ThreadPoolExecutor(max_workers=2)),
        "lobby_site.move_threads": functools.partial(MoveThreads(2).call, nothing),
    }
    for _ in range(2):
        for name, call in ways.items():
            cpu, wall = asyncio.run(timed(call, args.calls, args.concurrency))
            print(f"{name:24s} process CPU {cpu:6.1f} µs a call, wall {wall:6.1f} µs a call")


if __name__ == "__main__":
    main()
