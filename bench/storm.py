"""A connection storm against one daphne process: everyone reconnects at once, as after a deploy.

Not a test. The server's database is seeded with running 4-seat games (every seat away, as
after a restart); then N sockets open within a few seconds — half lobby sockets, half seated
game sockets that say HELLO (with batching) — and the script counts failures and how long
each seated socket waited for its RESUME. Goal (issue "Scale", item 3): 5,000 sockets opened
within 10 s, none fails, every seated one gets RESUME, in both configurations.

    .venv/bin/python bench/storm.py [--sockets 5000] [--within 10] [--config default|pg-redis|both]

The same script, run as `bench/storm.py seed GAMES` with a server's environment, seeds the games.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEATS = 4


def seed(games: int) -> None:
    """Create `games` running 4-seat games whose seats are all away; print their tokens as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lobby_site.settings")
    import django

    django.setup()
    from rooms import services

    tokens = []
    for k in range(games):
        room, creator = services.room_create(room_name=f"storm {k}", num_of_players=SEATS, user_name="bot0")
        seats = [creator]
        for seat in range(1, SEATS):
            seats.append(services.room_join(room_id=room["room_id"], user_name=f"bot{seat}")[1])
        # Every seat connects (the game begins), then every connection ends, as in a restart.
        services.connections_apply(opened=[(f"seed.{p['player_id']}", p["player_id"]) for p in seats])
        services.connections_apply(closed=[f"seed.{p['player_id']}" for p in seats])
        tokens += [(room["room_id"], p["token"]) for p in seats]
    print(json.dumps(tokens))


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


async def storm(ws_url: str, seated: list, lobby_sockets: int, within: float) -> dict:
    import websockets

    results = {"failed": 0, "resumed": 0, "lobby_open": 0, "resume_s": [], "errors": []}
    sockets = []
    total = len(seated) + lobby_sockets
    # Interleave lobby and game sockets, evenly spread over `within` seconds.
    plan = [("game", s) for s in seated] + [("lobby", None)] * lobby_sockets
    random.Random(1).shuffle(plan)
    started = time.perf_counter()

    async def one(k: int, kind: str, target) -> None:
        await asyncio.sleep(started + k * within / total - time.perf_counter())
        try:
            if kind == "lobby":
                ws = await websockets.connect(f"{ws_url}/ws/lobby/", open_timeout=30)
                sockets.append(ws)
                results["lobby_open"] += 1
                return
            room_id, token = target
            ws = await websockets.connect(f"{ws_url}/ws/rooms/{room_id}/", open_timeout=30)
            sockets.append(ws)
            sent = time.perf_counter()
            await ws.send(json.dumps({"cmd": "HELLO", "payload": {"token": token, "batch": True}}))
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
                frames = message if isinstance(message, list) else [message]
                if any(f["cmd"] == "RESUME" for f in frames):
                    results["resume_s"].append(time.perf_counter() - sent)
                    results["resumed"] += 1
                    return
                if any(f["cmd"] == "ERROR" for f in frames):
                    raise RuntimeError(frames)
        except Exception as error:  # counted, reported: a storm must not fail any socket
            results["failed"] += 1
            if len(results["errors"]) < 5:
                results["errors"].append(repr(error)[:200])

    await asyncio.gather(*(one(k, kind, target) for k, (kind, target) in enumerate(plan)))
    results["all_done_s"] = time.perf_counter() - started
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return results


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(config: str, sockets: int, within: float) -> None:
    from tests.servers import Daphne, postgres_database, server_env, sqlite_database

    games = sockets // 2 // SEATS
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        if config == "default":
            env = server_env(stack.enter_context(sqlite_database(Path(tmp))), LOG_LEVEL="WARNING", DEBUG="false")
        else:
            redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
            env = server_env(stack.enter_context(postgres_database()), redis_url, LOG_LEVEL="WARNING",
                             DEBUG="false")
        t0 = time.perf_counter()
        seeded = subprocess.run([sys.executable, __file__, "seed", str(games)], cwd=ROOT, env=env,
                                capture_output=True, text=True, check=True)
        seated = json.loads(seeded.stdout.strip().splitlines()[-1])
        print(f"{config}: seeded {games} running games ({len(seated)} seats) in {time.perf_counter() - t0:.1f}s")
        with Daphne(env, log_path=Path(tmp) / "daphne.log") as server:
            cpu_before = cpu_seconds(server.process.pid)
            results = asyncio.run(storm(server.ws_url, seated, sockets - len(seated), within))
            cpu = cpu_seconds(server.process.pid) - cpu_before
        resume = results["resume_s"]
        print(f"  {sockets} sockets ({len(seated)} seated, {sockets - len(seated)} lobby) opened over {within:.0f}s: "
              f"failed {results['failed']}, RESUME {results['resumed']}/{len(seated)}, all done after "
              f"{results['all_done_s']:.1f}s; HELLO→RESUME p50 {1000 * percentile(resume, 0.5):.0f} ms, "
              f"p99 {1000 * percentile(resume, 0.99):.0f} ms, max {1000 * max(resume, default=0):.0f} ms; "
              f"daphne CPU {cpu:.1f}s")
        for error in results["errors"]:
            print(f"  e.g. {error}")


def main():
    if sys.argv[1:2] == ["seed"]:
        seed(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--within", type=float, default=10.0, help="seconds over which the sockets open")
    parser.add_argument("--config", choices=["default", "pg-redis", "both"], default="both")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # daphne inherits it
    for config in ["default", "pg-redis"] if args.config == "both" else [args.config]:
        run(config, args.sockets, args.within)


if __name__ == "__main__":
    main()
