"""Game moves per second against one daphne process, beside a bare Channels relay.

Not a test. Bots over real WebSocket connections play 4-seat games in 25 rooms at once;
a move is one accepted turn answer, and its latency runs from the answer being sent to
the mover's next frame. In the same run and configuration a bare consumer relays each
message to its 4-member group (bench/relay_asgi.py). Prints moves/s, p50/p99 latency and
the ratio game moves/s ÷ relays/s, for the default configuration (SQLite + in-memory
layer) and for PostgreSQL + Redis.

    .venv/bin/python bench/moves.py [--rooms 25] [--rounds 2] [--config default|pg-redis|both]
        [--profile]   # run the game server under pyinstrument; the report goes to bench/out/
        [--pairs N]   # N relay-then-games pairs per configuration, and the median of their ratios
        [--no-batch]  # bots get one frame per message, as clients that do not ask for batches
        [--server-env KEY=VALUE ...]  # settings for the game server, e.g. DB_THREADS=4
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import websockets  # noqa: E402

from tests.servers import Daphne, postgres_database, server_env, sqlite_database  # noqa: E402

SEATS = 4
OUT = Path(__file__).resolve().parent / "out"


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


async def lobby_call(ws, cmd, payload):
    await ws.send(json.dumps({"cmd": cmd, "payload": payload}))
    while True:
        frame = json.loads(await ws.recv())
        if frame["cmd"] in (f"{cmd}_REP", "ERROR"):
            if frame["cmd"] == "ERROR":
                raise RuntimeError(f"{cmd}: {frame['payload']}")
            return frame["payload"]["data"]


async def make_room(ws_url, k):
    """Create a 4-seat room and fill it with bots; return (room_id, tokens)."""
    async with websockets.connect(f"{ws_url}/ws/lobby/", max_size=None) as lobby:
        created = await lobby_call(lobby, "CREATE_A_ROOM", {"room_name": f"bench {k}", "num_of_players": SEATS,
                                                            "user_name": "bot0"})
        room_id = created["room"]["room_id"]
        tokens = [created["player"]["token"]]
        for seat in range(1, SEATS):
            joined = await lobby_call(lobby, "JOIN_ROOM", {"room_id": room_id, "user_name": f"bot{seat}"})
            tokens.append(joined["player"]["token"])
    return room_id, tokens


class RoundStart:
    """Holds the round's first answers until every game of the round is dealt.

    Without it the first games dealt began to play while the server still greeted and dealt
    the others: those first moves queued behind that work and made most of the game's p99
    (pg-redis: p99 115 ms for each bot's first move, 58 ms for its second and third), though
    greeting and dealing are not moves, and the relay has nothing like them.
    """

    def __init__(self, bots: int):
        self.waiting = bots
        self.all_dealt = asyncio.Event()

    def dealt(self) -> None:
        self.waiting -= 1
        if self.waiting == 0:
            self.all_dealt.set()


class Bot:
    """Answers every prompt with a legal, simple choice and times its turn answers."""

    def __init__(self, ws_url, room_id, token, latencies, move_times, batch=True, on_first_move=None,
                 round_start=None):
        self.round_start = round_start
        self.batch = batch
        self.on_first_move = on_first_move
        self.url = f"{ws_url}/ws/rooms/{room_id}/"
        self.token = token
        self.hand: set[int] = set()
        self.seat = None
        self.latencies = latencies
        self.move_times = move_times  # when each turn answer was sent, across all bots
        self.sent_at = None
        self.moves = 0
        self.msg_ids = itertools.count(1)

    async def play(self):
        async with websockets.connect(self.url, max_size=None) as ws:
            self.ws = ws
            await ws.send(json.dumps({"cmd": "HELLO", "payload": {"token": self.token, "batch": self.batch}}))
            async for raw in ws:
                message = json.loads(raw)
                if self.sent_at is not None:
                    self.latencies.append(time.perf_counter() - self.sent_at)
                    self.sent_at = None
                for frame in message if isinstance(message, list) else [message]:
                    if await self.handle(frame):
                        return

    async def handle(self, frame) -> bool:
        cmd, payload = frame["cmd"], frame["payload"]
        data = payload["data"]
        if cmd == "CONNECTED":
            self.seat = data["player"]["seat"]
        elif cmd in ("GAME_BEGIN", "RESUME", "GAME_STATUS"):
            self.hand = {c["id"] for c in data["you"]["hand"]}
            if self.round_start is not None:
                round_start, self.round_start = self.round_start, None
                round_start.dealt()
                await round_start.all_dealt.wait()
            if data["prompt"]:
                await self.answer(data["prompt"]["msg_id"], data["prompt"]["payload"])
        elif cmd == "GAME_MESSAGE_REP" and payload["flag"] == "USER_INPUT_CONTINUE":
            await self.answer(frame["msg_id"], payload)
        elif cmd == "GAME_MESSAGE_REP":
            self.hand |= {c["id"] for c in payload["extra_data"]}
        elif cmd == "GAME_EVENT" and data.get("seat") == self.seat:
            for card in data.get("cards", []) if data["event"] != "drew" else []:
                self.hand.discard(card["id"])
            if "card" in data:
                self.hand.discard(data["card"]["id"])
        elif cmd == "GAME_OVER":
            return True
        elif cmd == "ERROR":
            raise RuntimeError(f"bot got {payload}")
        return False

    async def answer(self, msg_id, prompt):
        kind = prompt["data"]["kind"]
        options = prompt["extra_data"]
        if kind == "turn":
            answer = {"cards": options[:1], "last_card": True}
            if not self.move_times and self.on_first_move:
                self.on_first_move()
            self.sent_at = time.perf_counter()
            self.move_times.append(self.sent_at)
            self.moves += 1
        elif kind == "name":
            answer = options[0]
        elif kind == "give":
            answer = {"cards": options[:1]}
        else:
            answer = {"cards": sorted(self.hand)[:prompt["data"]["count"]], "last_card": True}
        await self.ws.send(json.dumps({"cmd": "GAME_MESSAGE", "msg_id": next(self.msg_ids),
                                       "payload": {"reply_to": msg_id, "data": answer}}))


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) process `pid` has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_games(ws_url, rooms, rounds, batch=True, server_pid=None):
    """Play `rounds` rounds of `rooms` games; time from each round's first move until every game is over.

    Connecting and the deal are left out of the window: they are not moves, and every game
    of the round begins to play once all are dealt (`RoundStart`). Returns the
    moves, the window's seconds, the latencies and the server's CPU seconds in the window.
    """
    latencies, moves, elapsed, cpu = [], 0, 0.0, 0.0
    for r in range(rounds):
        made = await asyncio.gather(*(make_room(ws_url, r * rooms + k) for k in range(rooms)))
        move_times, cpu_at_first = [], []
        first_move = (lambda: cpu_at_first.append(cpu_seconds(server_pid))) if server_pid else None
        round_start = RoundStart(rooms * SEATS)
        bots = [Bot(ws_url, room_id, token, latencies, move_times, batch, first_move, round_start)
                for room_id, tokens in made for token in tokens]
        await asyncio.wait_for(asyncio.gather(*(bot.play() for bot in bots)), timeout=600)
        elapsed += time.perf_counter() - min(move_times)  # first move sent → every game over
        if cpu_at_first:
            cpu += cpu_seconds(server_pid) - cpu_at_first[0]
        moves += len(move_times)
    return moves, elapsed, latencies, cpu


async def run_relay(ws_url, groups, messages_per_group):
    """Each group passes a message round its 4 members; every member receives every message."""
    latencies = []

    async def group(g):
        sockets = [await websockets.connect(f"{ws_url}/ws/relay/{g}/") for _ in range(SEATS)]
        try:
            for n in range(messages_per_group):
                sender = sockets[n % SEATS]
                sent = time.perf_counter()
                await sender.send(json.dumps({"n": n}))
                for k, ws in enumerate(sockets):
                    await ws.recv()
                    if ws is sender:
                        latencies.append(time.perf_counter() - sent)
        finally:
            for ws in sockets:
                await ws.close()

    started = time.perf_counter()
    await asyncio.gather(*(group(g) for g in range(groups)))
    return groups * messages_per_group, time.perf_counter() - started, latencies


def report(label, count, seconds, latencies):
    rate = count / seconds
    print(f"  {label:<6} {count:6d} in {seconds:6.2f}s = {rate:8.1f}/s   "
          f"p50 {1000 * percentile(latencies, 0.5):7.1f} ms   p99 {1000 * percentile(latencies, 0.99):7.1f} ms")
    return rate


# The bots answer as fast as the server prompts them, which can be more than RATE_LIMIT's 20
# frames a second on one socket once a room plays fast: the bench measures moves, not the
# limiter (the relay has none either).
BENCH_SETTINGS = {"LOG_LEVEL": "WARNING", "DEBUG": "false", "RATE_LIMIT": 1000}


@contextlib.contextmanager
def configuration(name, tmp):
    if name == "default":
        with sqlite_database(Path(tmp)) as url:
            yield server_env(url, **BENCH_SETTINGS)
    else:
        redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
        with postgres_database() as url:
            yield server_env(url, redis_url, **BENCH_SETTINGS)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rooms", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--relay-messages", type=int, default=200, help="messages per relay group")
    parser.add_argument("--config", choices=["default", "pg-redis", "both"], default="both")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--pairs", type=int, default=1,
                        help="measure relay then games this many times per configuration, each pair on fresh "
                             "servers, and print the median ratio: on a shared machine one pair's ratio swings")
    parser.add_argument("--server-env", nargs="*", default=[], metavar="KEY=VALUE",
                        help="settings for the game server only (e.g. DB_THREADS=4)")
    parser.add_argument("--batch", action=argparse.BooleanOptionalAction, default=True,
                        help="bots ask for batches (one message per change), as the project's clients do")
    args = parser.parse_args()
    configs = ["default", "pg-redis"] if args.config == "both" else [args.config]
    OUT.mkdir(exist_ok=True)
    for name in configs:
        ratios, cpu_ratios = [], []
        for pair in range(args.pairs):
            with tempfile.TemporaryDirectory() as tmp, configuration(name, tmp) as env:
                label = f" (pair {pair + 1} of {args.pairs})" if args.pairs > 1 else ""
                print(f"{name}: {args.rooms} rooms of {SEATS} bots, one daphne process{label}")
                ratio, cpu_ratio = relay_then_games(name, env, args)
                ratios.append(ratio)
                cpu_ratios.append(cpu_ratio)
        if args.pairs > 1:
            print(f"{name}: ratio per pair {', '.join(f'{r:.3f}' for r in ratios)}; median "
                  f"{statistics.median(ratios):.3f} (goal 0.5); CPU ratio median {statistics.median(cpu_ratios):.3f}")


def relay_then_games(name: str, env: dict, args) -> tuple[float, float]:
    """Measure the relay, then the games, on fresh servers; print both; return the two ratios."""
    with Daphne(env, app="bench.relay_asgi:application") as relay_server:
        relay_cpu = cpu_seconds(relay_server.process.pid)
        relays, relay_s, relay_lat = asyncio.run(run_relay(relay_server.ws_url, args.rooms, args.relay_messages))
        relay_cpu = cpu_seconds(relay_server.process.pid) - relay_cpu
    profile_args = ()
    if args.profile:
        profile_args = ("-m", "pyinstrument", "-r", "text", "--show-all", "-o", str(OUT / f"profile-{name}.txt"))
    game_env = {**env, **dict(item.split("=", 1) for item in args.server_env)}
    server = Daphne(game_env, python_args=profile_args).start()
    try:
        moves, game_s, game_lat, game_cpu = asyncio.run(
            run_games(server.ws_url, args.rooms, args.rounds, args.batch, server.process.pid))
    finally:
        server.interrupt()
    relay_rate = report("relay", relays, relay_s, relay_lat)
    game_rate = report("game", moves, game_s, game_lat)
    print(f"  ratio game moves/s / relays/s = {game_rate / relay_rate:.3f} (goal 0.5)")
    relay_ms, move_ms = 1000 * relay_cpu / relays, 1000 * game_cpu / moves
    print(f"  server CPU: {move_ms:.2f} ms a move, {relay_ms:.2f} ms a relay "
          f"(ratio {relay_ms / move_ms:.3f}; {100 * game_cpu / game_s:.0f}% and "
          f"{100 * relay_cpu / relay_s:.0f}% of a core)")
    if args.profile:
        print(f"  profile: {OUT / f'profile-{name}.txt'}")
    return game_rate / relay_rate, relay_ms / move_ms

if __name__ == "__main__":
    main()
