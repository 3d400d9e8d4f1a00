"""The lobby under a draft flood and under many idle sockets, against one real daphne.

Not a test. Each scenario measures a quiet window first (the bare baseline of the same run:
the same server and database, nothing happening) and then the scenario's window:

* flood: ROOMS open rooms are made in the server's database before it starts; LISTENERS
  lobby sockets listen; one client toggles START_ROOM_DRAFT / CANCEL_ROOM_DRAFT as fast as
  RATE_LIMIT allows; another sends GET_ROOMS every 100 ms. Prints bytes/s received per
  listener, daphne CPU % of one core (utime + stime from /proc/<pid>/stat over the window)
  and GET_ROOMS p50/p99. Goals: <= 50 KB/s per listener, <= 25 % CPU, GET_ROOMS p99 <= 100 ms.
* idle: SOCKETS idle lobby sockets held open. Prints daphne CPU % over the window and
  another client's GET_ROOMS p50/p99. Goals: <= 5 % CPU, GET_ROOMS p99 <= 50 ms.

    .venv/bin/python bench/lobby.py flood [--rooms 1000] [--listeners 100] [--seconds 30]
    .venv/bin/python bench/lobby.py idle [--sockets 5000] [--seconds 30]
        [--config default|pg-redis]   # default: SQLite + in-memory layer
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import websockets  # noqa: E402

from tests.servers import ROOT, Daphne, postgres_database, server_env, sqlite_database  # noqa: E402

RATE_LIMIT = 20  # frames/s per connection: the default setting, which the toggler keeps to
MAKE_ROOMS = """
from rooms import services
for k in range({rooms}):
    services.room_create(room_name=f"bench room {{k}}", num_of_players=2 + k % 7, user_name="host",
                         computers=k % 2)
"""


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU time a process has used (/proc/<pid>/stat fields 14, 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Window:
    """Daphne's CPU % of one core between start() and stop()."""

    def __init__(self, pid: int):
        self.pid = pid

    def start(self) -> None:
        self.cpu, self.wall = cpu_seconds(self.pid), time.monotonic()

    def stop(self) -> float:
        self.seconds = time.monotonic() - self.wall
        return 100 * (cpu_seconds(self.pid) - self.cpu) / self.seconds


async def open_lobby(server: Daphne):
    return await websockets.connect(f"{server.ws_url}/ws/lobby/", max_size=None, ping_interval=None,
                                    open_timeout=60)


async def listen(ws, received: list[int], slot: int) -> None:
    """Count the bytes of every frame a socket receives (slot `slot` of `received`)."""
    with contextlib.suppress(websockets.ConnectionClosed):
        async for message in ws:
            received[slot] += len(message.encode() if isinstance(message, str) else message)


async def get_rooms_every(server: Daphne, every: float, stop: asyncio.Event) -> list[float]:
    """Send GET_ROOMS every `every` seconds until `stop`; return each answer's latency (s)."""
    latencies = []
    async with await open_lobby(server) as ws:
        msg_id = 0
        while not stop.is_set():
            msg_id += 1
            sent = time.perf_counter()
            await ws.send(json.dumps({"cmd": "GET_ROOMS", "msg_id": msg_id, "payload": {}}))
            while json.loads(await ws.recv())["reply_to"] != msg_id:
                pass  # a ROOMS_CHANGED push
            latencies.append(time.perf_counter() - sent)
            await asyncio.sleep(max(0.0, every - (time.perf_counter() - sent)))
    return latencies


async def toggle_drafts(server: Daphne, stop: asyncio.Event) -> int:
    """Start and cancel a draft as fast as RATE_LIMIT allows until `stop`; return the toggles."""
    toggles, msg_id = 0, 0
    async with await open_lobby(server) as ws:

        async def call(cmd: str, payload: dict, answer: str) -> dict:
            nonlocal msg_id
            msg_id += 1
            sent = time.monotonic()
            await ws.send(json.dumps({"cmd": cmd, "msg_id": msg_id, "payload": payload}))
            while True:
                frame = json.loads(await ws.recv())
                if frame["reply_to"] == msg_id:
                    break
            # Keep under the limit: one frame per 1/RATE_LIMIT s, a little slack for the bucket.
            await asyncio.sleep(max(0.0, 1.05 / RATE_LIMIT - (time.monotonic() - sent)))
            if frame["cmd"] != answer:
                raise RuntimeError(f"{cmd}: {frame['payload']}")
            return frame["payload"]["data"]

        while not stop.is_set():
            draft = await call("START_ROOM_DRAFT", {}, "DRAFT_STARTED")
            await call("CANCEL_ROOM_DRAFT", {"draft_id": draft["draft_id"]}, "DRAFT_CANCELLED")
            toggles += 1
    return toggles


async def measure(server: Daphne, seconds: float, sockets: list, busy=None) -> dict:
    """Run one window: GET_ROOMS every 100 ms, maybe a `busy(stop)` load; return the figures."""
    received = [0] * len(sockets)
    readers = [asyncio.create_task(listen(ws, received, k)) for k, ws in enumerate(sockets)]
    stop = asyncio.Event()
    window = Window(server.process.pid)
    window.start()
    tasks = [asyncio.create_task(get_rooms_every(server, 0.1, stop))]
    if busy is not None:
        tasks.append(asyncio.create_task(busy(stop)))
    await asyncio.sleep(seconds)
    stop.set()
    cpu = window.stop()
    results = await asyncio.gather(*tasks)
    for reader in readers:
        reader.cancel()
    latencies = results[0]
    return {"cpu": cpu, "seconds": window.seconds, "get_rooms": len(latencies),
            "p50_ms": 1000 * percentile(latencies, 0.5), "p99_ms": 1000 * percentile(latencies, 0.99),
            "kb_per_listener_s": sum(received) / max(1, len(sockets)) / window.seconds / 1000,
            "toggles": results[1] if busy is not None else 0}


def show(name: str, figures: dict) -> None:
    print(f"  {name:<9} daphne CPU {figures['cpu']:5.1f} %   GET_ROOMS p50 {figures['p50_ms']:6.1f} ms"
          f"  p99 {figures['p99_ms']:6.1f} ms ({figures['get_rooms']} asked)"
          f"   per listener {figures['kb_per_listener_s']:7.2f} KB/s"
          + (f"   toggles {figures['toggles']} ({figures['toggles'] / figures['seconds']:.1f}/s)"
             if figures["toggles"] else ""))


async def open_many(server: Daphne, count: int) -> list:
    sockets = []
    for start in range(0, count, 200):  # in batches: daphne's accept queue is finite
        sockets += await asyncio.gather(*(open_lobby(server) for _ in range(start, min(count, start + 200))))
    return sockets


async def flood(server: Daphne, args) -> None:
    listeners = await open_many(server, args.listeners)
    quiet = args.quiet or min(10.0, args.seconds)
    print(f"flood: {args.rooms} open rooms, {args.listeners} listeners, RATE_LIMIT {RATE_LIMIT}/s")
    show("quiet", await measure(server, quiet, listeners))
    show("flood", await measure(server, args.seconds, listeners, busy=lambda stop: toggle_drafts(server, stop)))
    print("  goals: per listener <= 50 KB/s, daphne <= 25 %, GET_ROOMS p99 <= 100 ms")
    await asyncio.gather(*(ws.close() for ws in listeners))


async def idle(server: Daphne, args) -> None:
    quiet = args.quiet or min(10.0, args.seconds)
    print(f"idle: {args.sockets} lobby sockets held {args.seconds:.0f} s")
    show("no socket", await measure(server, quiet, []))
    opened = time.monotonic()
    sockets = await open_many(server, args.sockets)
    print(f"  opened {len(sockets)} sockets in {time.monotonic() - opened:.1f} s")
    show("idle", await measure(server, args.seconds, sockets))
    print("  goals: daphne <= 5 %, GET_ROOMS p99 <= 50 ms")
    await asyncio.gather(*(ws.close() for ws in sockets))


def raise_open_files() -> None:
    """Let this process (and daphne, which inherits it) hold as many sockets as allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def database(config: str, tmp: Path):
    if config == "pg-redis":
        with postgres_database() as url:
            yield url, os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    else:
        with sqlite_database(tmp) as url:
            yield url, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=["flood", "idle"])
    parser.add_argument("--config", choices=["default", "pg-redis"], default="default")
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--listeners", type=int, default=100)
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--quiet", type=float, default=0, help="baseline window (default min(10, seconds))")
    args = parser.parse_args()
    raise_open_files()
    with tempfile.TemporaryDirectory() as tmp, database(args.config, Path(tmp)) as (database_url, redis_url):
        # Seats never freed for absence during the run; the rate limit as deployed.
        env = server_env(database_url, redis_url, DEBUG="false", DISCONNECT_GRACE=3600,
                         DRAFT_TIMEOUT=3600, RATE_LIMIT=RATE_LIMIT, LOG_LEVEL="WARNING")
        if args.scenario == "flood":
            subprocess.run([sys.executable, "manage.py", "shell", "-c", MAKE_ROOMS.format(rooms=args.rooms)],
                           cwd=ROOT, env=env, check=True, timeout=600)
        print(f"config {args.config}: {database_url.split(':', 1)[0]}, {'Redis pub/sub' if redis_url else 'in-memory'}")
        with Daphne(env, log_path=Path(tmp) / "daphne.log") as server:
            asyncio.run(flood(server, args) if args.scenario == "flood" else idle(server, args))


if __name__ == "__main__":
    main()
