"""What seating a table costs the whole machine: the lobby, the seats' sockets, the deal.

Not a test. Between two games, each table of four passes through the lobby again: the first
bot creates a room on a lobby socket, the three others join it on theirs (as `manage.py
loadtest`'s matchmaker does), and each opens its seat socket and says HELLO; the last one
connected deals. This script seats `--tables` tables that way, `--parallel` at a time,
against fresh servers (`--config`, as bench/capacity.py starts them), waits until every seat
has its first frames of the game, closes the seat sockets, and reports the CPU of each server,
of this script (the bots' side) and of the whole machine, per table. The same, for a bare
socket opened and closed: `--sockets N` opens N lobby sockets (no command) and closes them,
then as many sockets of the bare relay (bench/relay_asgi.py) on servers of its own, as a baseline.

    .venv/bin/python bench/seating.py [--tables 300] [--parallel 8] [--sockets 2000] [--config nginx-pg-redis|default]

At the capacity bench's 5,000 players a table is seated about every 65 ms (15 tables a second:
bench/README.md, twenty-first session), so what one costs here, times that rate, is what
seating takes from the machine there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import websockets  # noqa: E402
from capacity import GAME_APP, RELAY_APP, Sampler, Servers  # noqa: E402

from lobby_site.client import SeatClient  # noqa: E402
from lobby_site.loadgen import Matchmaker, Stats, raise_open_file_limit  # noqa: E402

SEATS = 4


async def seat_one(base_url: str, matchmaker: Matchmaker, name: str) -> None:
    """Take a seat through the lobby, connect it, and return once the game has begun for it."""
    room_id, token = await matchmaker.take_seat(name)
    async with SeatClient(base_url, room_id, token) as seat, asyncio.timeout(60):
        await seat.connected.wait()
        while seat.state.current_prompt is None and not seat.state.hand:
            await asyncio.sleep(0.01)  # the deal: this seat's hand, or its first prompt


async def seat_tables(base_url: str, tables: int, parallel: int, first: int = 0) -> None:
    matchmaker = Matchmaker(base_url, Stats(players=SEATS * tables))
    at_once = asyncio.Semaphore(parallel)

    async def table(k: int) -> None:
        async with at_once:
            await asyncio.gather(*(seat_one(base_url, matchmaker, f"bot {first + k}.{seat}") for seat in range(SEATS)))

    await asyncio.gather(*(table(k) for k in range(tables)))


async def open_and_close(url: str, sockets: int, parallel: int) -> None:
    at_once = asyncio.Semaphore(parallel)

    async def one() -> None:
        async with at_once:
            socket = await websockets.connect(url, open_timeout=10, ping_interval=None)
            await socket.close()  # opened and closed, nothing said: the socket's own cost

    await asyncio.gather(*(one() for _ in range(sockets)))


def measured(servers: Servers, work, count: int, what: str) -> None:
    groups = {**servers.groups, "load generator": [os.getpid()]}
    with Sampler(groups) as sampler:
        started = time.time()
        asyncio.run(work)
        ended = time.time()
    seconds = ended - started
    print(f"{count} {what} in {seconds:.1f} s ({count / seconds:.1f} a second)")
    for name, usage in sampler.over(started, ended).items():
        print(f"  {name:16s} {usage['cpu_pct']:6.1f}% of a core   {10 * usage['cpu_pct'] * seconds / count:6.2f} ms CPU "
              f"a {what.rstrip('s')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", choices=["default", "nginx-pg-redis"], default="nginx-pg-redis")
    parser.add_argument("--tables", type=int, default=300)
    parser.add_argument("--parallel", type=int, default=8, help="tables (or sockets) being seated at once")
    parser.add_argument("--sockets", type=int, default=0, help="also open and close this many bare lobby sockets")
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    raise_open_file_limit()
    env = dict(item.split("=", 1) for item in args.server_env)
    with tempfile.TemporaryDirectory() as tmp, Servers(args.config, GAME_APP, env, Path(tmp)) as servers:
        asyncio.run(seat_tables(servers.ws_url, 20, args.parallel, first=10**6))  # warm the servers up
        measured(servers, seat_tables(servers.ws_url, args.tables, args.parallel), args.tables, "tables")
        if args.sockets:
            measured(servers, open_and_close(f"{servers.ws_url}/ws/lobby/", args.sockets, args.parallel), args.sockets,
                     "sockets")
    if args.sockets:
        print("the bare relay's sockets:")
        with tempfile.TemporaryDirectory() as tmp, Servers(args.config, RELAY_APP, env, Path(tmp)) as servers:
            relay_url = f"{servers.ws_url}/ws/relay/1/"
            asyncio.run(open_and_close(relay_url, 100, args.parallel))  # warm the servers up
            measured(servers, open_and_close(relay_url, args.sockets, args.parallel), args.sockets, "sockets")


if __name__ == "__main__":
    main()
