"""The capacity figure: players held with a 3 s think time at p99 move latency < 250 ms.

Not a test. For each configuration and each player count, the script starts fresh servers
on free ports, runs `manage.py loadtest` against them, and samples the servers' CPU and
memory from /proc (and, for `nginx-pg-redis`, the CPU of the whole PostgreSQL server when it
runs on this machine, and of the private Redis), the load generator's CPU, and the whole
machine's busy time (/proc/stat, all cores: "machine CPU %" out of 100 a core, and that per
move); then, in the same configuration and at the same pace, a bare Channels relay
(bench/relay_asgi.py: one message per group of 4 every think time) for comparison, its
sockets this script's own (their CPU is the relay's load generator).

Configurations:
* `default` — one daphne, SQLite + in-memory channel layer (no variables set).
* `nginx-pg-redis` — two daphne processes on a fresh PostgreSQL database (127.0.0.1:5432)
  and a private redis-server (pub/sub layer), behind nginx run from docs/nginx.conf.

    .venv/bin/python bench/capacity.py --players 40,200 --duration 20 [--config default|nginx-pg-redis|both]
        [--think 3] [--warmup 5] [--spawn-rate 50] [--goal-ms 250] [--no-baseline] [--server-env KEY=VALUE ...]
        [--spectators 0,200] [--rematch] [--repeat 1] [--together] [--gc-log]

`--spectators` runs every player count once per spectator count, so watched and unwatched
games are measured side by side. The spectators are a second loadtest process (`--players 0
--spectators N`, which finds the games in the lobby's live list and spreads over at most 50).
`--rematch`: the bots of a finished game play its rematch, and the spectators' sockets follow
their table to it (`?follow=1`) instead of opening new ones on the next game.

`--together` runs the spectator counts of a step at the same time, each against servers of its
own (the watched game and the unwatched one then meet the shared machine's slow spells in the
same window); it leaves the relay baseline out.

`--repeat N` runs every step N times, the spectator counts taking turns (0, 200, 0, 200, …), and
also reports each step's p99 over the moves of all N runs pooled: a p99 of one run of a single
table (about 560 moves in 120 s) is its sixth slowest move, and swings by half from run to run.

`--gc-log` serves the game with bench/gc_probe_asgi.py, which writes down every garbage
collection of each daphne, and reports those inside the window by generation: how many, how
long (wall, and the CPU of the thread that ran it), the largest.

Writes bench/out/capacity-<time>.json and .md (git-ignored) and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import psycopg  # noqa: E402
import websockets  # noqa: E402

from lobby_site.loadgen import percentile, raise_open_file_limit  # noqa: E402
from tests.servers import ROOT, Daphne, free_port, postgres_database, server_env, sqlite_database  # noqa: E402

OUT = ROOT / "bench" / "out"
NGINX_SAMPLE = ROOT / "docs" / "nginx.conf"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
# Per-address and per-connection limits (docs/protocol.md "Limits per address") raised for load:
# every bot comes from 127.0.0.1. Settings today's server does not know are ignored.
LOAD_SETTINGS = {"RATE_LIMIT": 1000, "ROOMS_PER_ADDRESS": 1000000, "DRAFTS_PER_ADDRESS": 1000000,
                 "TRUSTED_PROXIES": "127.0.0.1", "LOG_LEVEL": "WARNING", "DEBUG": "false"}
GAME_APP = "lobby_site.asgi:application"
GC_PROBE_APP = "bench.gc_probe_asgi:application"  # the same, with every garbage collection written down (--gc-log)
RELAY_APP = "bench.relay_asgi:application"


# --- Processes ------------------------------------------------------------------------------


def proc_stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the ")" closing the command name (state first)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def proc_times_and_rss(pid: int) -> tuple[int, int]:
    """Return (utime + stime in clock ticks, RSS in KiB) of a process, threads included."""
    fields = proc_stat(pid)
    # utime and stime are fields 12 and 13, rss 22.
    return int(fields[11]) + int(fields[12]), int(fields[21]) * PAGE_KB


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def postmaster_of(database_url: str) -> int | None:
    """The pid of the PostgreSQL server behind `database_url` if it runs on this machine (the
    parent of a backend's process), else None."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    try:
        return int(proc_stat(backend)[1])  # the field after the state: ppid
    except OSError:
        return None


def server_usage(postmaster: int):
    """A Sampler group for a whole PostgreSQL server: the CPU ticks of the postmaster, of its live
    children (backends, WAL writer, checkpointer…) and of those that have exited (its cutime and
    cstime: a daphne's backend exits when its connection reaches DB_CONN_MAX_AGE). No RSS: its
    processes share their memory, and summing them would count it many times."""
    def usage() -> tuple[int, int]:
        ticks = sum(int(f) for f in proc_stat(postmaster)[11:15])  # utime, stime, cutime, cstime
        for child in children(postmaster):
            with contextlib.suppress(OSError):
                ticks += proc_times_and_rss(child)[0]
        return ticks, 0
    return usage


class Sampler:
    """Samples CPU ticks and RSS of some processes every `interval` s, in a thread. A group is
    a list of pids, or a function that returns its (ticks, RSS)."""

    def __init__(self, groups: dict, interval: float = 0.5):
        self.groups = groups
        self.interval = interval
        self.samples: list[tuple[float, dict[str, tuple[int, int]]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        reading = {}
        for name, pids in self.groups.items():
            if callable(pids):
                reading[name] = pids()
                continue
            ticks = rss = 0
            for pid in pids:
                with contextlib.suppress(OSError):
                    t, r = proc_times_and_rss(pid)
                    ticks, rss = ticks + t, rss + r
            reading[name] = (ticks, rss)
        self.samples.append((time.time(), reading))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> "Sampler":
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def over(self, start: float, end: float) -> dict[str, dict]:
        """CPU % (100 = one core) and peak RSS of each group between two wall-clock times."""
        inside = [s for s in self.samples if start <= s[0] <= end] or self.samples[-2:]
        first, last = inside[0], inside[-1]
        idle_rss = self.samples[0][1]
        seconds = max(last[0] - first[0], 1e-9)
        return {name: {"cpu_pct": round(100 * (last[1][name][0] - first[1][name][0]) / CLOCK_TICKS / seconds, 1),
                       "rss_kb": max(s[1][name][1] for s in inside), "idle_rss_kb": idle_rss[name][1]}
                for name in self.groups}


@contextlib.contextmanager
def process_group(args: list[str], log: Path, **popen):
    """Run a child in its own process group; stop the group with SIGTERM (then SIGKILL)."""
    with open(log, "ab") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **popen)
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_for_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def machine_usage() -> tuple[int, int]:
    """A Sampler group for the whole machine: the busy clock ticks of all its cores (everything
    but idle and iowait in /proc/stat, the hypervisor's steal included: it is time the machine's
    processes could not have). No RSS."""
    with open("/proc/stat") as stat:
        ticks = [int(field) for field in stat.readline().split()[1:9]]
    return sum(ticks) - ticks[3] - ticks[4], 0  # user nice system idle iowait irq softirq steal


@contextlib.contextmanager
def private_redis(tmp: Path):
    """A throwaway redis-server on a free port (no other run's pub/sub channels can reach it):
    yield its URL and pid, or BENCH_REDIS_URL and None without redis-server."""
    if not shutil.which("redis-server"):
        yield os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"), None
        return
    port = free_port()
    with process_group(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                        "no", "--dir", str(tmp)], tmp / "redis.log") as redis:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0", redis.pid


def nginx_config(sample: str, tmp: Path, listen: int, upstreams: list[int]) -> str:
    """docs/nginx.conf with the "# bench:" lines pointed at this run's ports and folder."""
    lines, in_upstream = [], False
    for line in sample.splitlines():
        marker = re.search(r"#\s*bench:\s*(\w+)", line)
        kind = marker and marker.group(1)
        if kind == "upstream":  # each upstream block's server lines become this run's, once per block
            if not in_upstream:
                lines += [f"        server 127.0.0.1:{port};" for port in upstreams]
            in_upstream = True
            continue
        in_upstream = False
        replacement = {"pid": f"pid {tmp}/nginx.pid;", "error_log": f"error_log {tmp}/error.log warn;",
                       "listen": f"        listen 127.0.0.1:{listen};"}.get(kind)
        if kind == "temp":
            directive = line.split()[0]
            replacement = f"    {directive} {tmp}/{directive.split('_')[0]};"
        lines.append(replacement or line)
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def nginx(tmp: Path, upstreams: list[int]):
    """Run nginx in the foreground (a child, not a daemon) in front of `upstreams`; yield its port."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        # Debian's package, as a deployment would use; installed here as .ci/test installs chromium.
        if os.geteuid() == 0 and shutil.which("apt-get"):
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], check=True,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
            binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(binary):
            raise SystemExit("nginx is not installed: apt-get install -y nginx")
    port = free_port()
    tmp.chmod(0o755)  # workers run as an unprivileged user when started as root
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_config(NGINX_SAMPLE.read_text(), tmp, port, upstreams))
    with process_group([binary, "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"], tmp / "nginx.out") as master:
        wait_for_port(port)
        deadline = time.monotonic() + 10
        while not children(master.pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # the workers fork after the master has bound the port
        yield port, master.pid


class Servers:
    """The servers of one configuration for one step: `ws_url` and the pids to sample."""

    def __init__(self, config: str, app: str, extra_env: dict, tmp: Path):
        self.config, self.app, self.extra_env, self.tmp = config, app, extra_env, tmp
        self.ws_url = ""
        # What the Sampler reads: the servers' processes, the load generator's (filled in by
        # whoever starts it) and the whole machine's busy time.
        self.groups: dict = {"load generator": [], "machine": machine_usage}
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "Servers":
        stack = self._stack
        settings = {**LOAD_SETTINGS, **self.extra_env}
        if self.config == "default":
            url = stack.enter_context(sqlite_database(self.tmp))
            daphne = stack.enter_context(Daphne(server_env(url, **settings), app=self.app,
                                                log_path=self.tmp / "daphne.log"))
            self.ws_url = daphne.ws_url
            self.groups["daphne"] = [daphne.process.pid]
            return self
        redis_url, redis_pid = stack.enter_context(private_redis(self.tmp))
        url = stack.enter_context(postgres_database())
        env = server_env(url, redis_url, **settings)
        daphnes = [stack.enter_context(Daphne(env, app=self.app, log_path=self.tmp / f"daphne{k}.log"))
                   for k in range(2)]
        port, master = stack.enter_context(nginx(self.tmp, [d.port for d in daphnes]))
        self.ws_url = f"ws://127.0.0.1:{port}"
        self.groups.update({"daphne": [d.process.pid for d in daphnes], "nginx": [master, *children(master)]})
        if redis_pid is not None:
            self.groups["redis"] = [redis_pid]
        postmaster = postmaster_of(url)
        if postmaster is not None:
            self.groups["postgres"] = server_usage(postmaster)
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()


# --- One step -----------------------------------------------------------------------------


def run_loadtest(servers: Servers, players: int, spectators: int, args, log: Path,
                 latencies: Path) -> tuple[dict, dict]:
    """Run manage.py loadtest against `servers`; return its summary and the servers' usage.

    Spectators run in a second loadtest process (`--players 0`: they find the games in the
    lobby's live list), so the load generator's work on their messages never delays the
    players' measurements; the players' warmup waits for every spectator to be connected.
    """
    base = [sys.executable, "manage.py", "loadtest", "--url", servers.ws_url, "--think", str(args.think),
            "--spawn-rate", str(args.spawn_rate), "--no-progress", *(["--rematch"] if args.rematch else [])]
    ramp = spectators / args.spawn_rate
    command = [*base, "--players", str(players), "--duration", str(args.duration), "--warmup", str(args.warmup + ramp),
               "--latencies", str(latencies)]
    watching = [*base, "--players", "0", "--spectators", str(spectators), "--duration", str(args.duration + 2),
                "--warmup", str(players / args.spawn_rate + args.warmup)]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    timeout = (players + spectators) / args.spawn_rate + args.warmup + args.duration + 300
    with Sampler(servers.groups) as sampler, open(log, "ab") as err:
        watchers = (subprocess.Popen(watching, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
                    if spectators else None)
        done = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
        servers.groups["load generator"] += [done.pid, *([watchers.pid] if watchers else [])]
        out = done.communicate(timeout=timeout)[0]
        watched = watchers.communicate(timeout=timeout)[0] if watchers else ""
    lines = out.strip().splitlines()
    if not lines:
        raise RuntimeError(f"loadtest printed nothing (exit {done.returncode}); see {log}")
    summary = json.loads(lines[-1])
    if watchers:
        watched_lines = watched.strip().splitlines()
        if not watched_lines:
            raise RuntimeError(f"the spectators' loadtest printed nothing (exit {watchers.returncode}); see {log}")
        spectating = json.loads(watched_lines[-1])
        summary.update({key: spectating[key] for key in ("spectators", "spectator_frames", "spectator_gaps",
                                                         "spectator_failures", "spectator_moves")},
                       spectators_client_cpu_pct=spectating["client_cpu_pct"])
    usage = sampler.over(summary["window_start_unix"] or 0, summary["window_end_unix"] or time.time())
    return summary, usage


async def relay_load(ws_url: str, players: int, args) -> dict:
    """The bare baseline: groups of 4 sockets, one message per group every think time (±20 %).

    A message's latency runs from its sending to its return to the sender through the group.
    """
    latencies, window = [], {}
    sockets = []

    async def reader(ws, sent_here: dict):
        async for message in ws:
            key = json.loads(message)["k"]
            if key in sent_here and "end" not in window and "start" in window:
                latencies.append(time.perf_counter() - sent_here.pop(key))

    async def group(g: int, members: list):
        rng = random.Random(g)
        n = 0
        while True:
            await asyncio.sleep(args.think * rng.uniform(0.8, 1.2))
            ws, sent_here = members[n % 4]
            key = f"{g}.{n}"
            sent_here[key] = time.perf_counter()
            await ws.send(json.dumps({"k": key}))
            n += 1

    tasks = []
    try:
        for g in range(players // 4):
            members = []
            for _ in range(4):
                ws = await websockets.connect(f"{ws_url}/ws/relay/{g}/", max_size=None, proxy=None,
                                              ping_interval=None)
                sockets.append(ws)
                members.append((ws, {}))
                tasks.append(asyncio.create_task(reader(*members[-1])))
                await asyncio.sleep(1 / args.spawn_rate)
            tasks.append(asyncio.create_task(group(g, members)))
        await asyncio.sleep(args.warmup)
        window["start"], window["start_unix"] = time.perf_counter(), time.time()
        await asyncio.sleep(args.duration)
        window["end"], window["end_unix"] = time.perf_counter(), time.time()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    seconds = window["end"] - window["start"]
    return {"messages_per_s": round(len(latencies) / seconds, 2),
            "p50_ms": round(1000 * (percentile(latencies, 0.5) or 0), 1),
            "p99_ms": round(1000 * (percentile(latencies, 0.99) or 0), 1),
            "window": (window["start_unix"], window["end_unix"])}


def run_relay(servers: Servers, players: int, args) -> tuple[dict, dict]:
    servers.groups["load generator"].append(os.getpid())  # the relay's sockets are this process's
    with Sampler(servers.groups) as sampler:
        result = asyncio.run(relay_load(servers.ws_url, players, args))
    return result, sampler.over(*result.pop("window"))


def step_name(config: str, players: int, spectators: int, args, run: int) -> str:
    return f"{config}-{players}" + (f"-{spectators}w" if spectators else "") + (f"-run{run}" if args.repeat > 1 else "")


def game_row(servers: Servers, tmp: Path, config: str, players: int, spectators: int, args, run_dir: Path,
             run: int) -> dict:
    """Run the loadtest of one step against servers already started; return the step's row."""
    row = {"config": config, "players": players, "spectators": spectators, "run": run}
    name = step_name(config, players, spectators, args, run)
    row["latencies_file"] = str(run_dir / f"latencies-{name}.txt")
    summary, usage = run_loadtest(servers, players, spectators, args, run_dir / f"loadtest-{name}.log",
                                  Path(row["latencies_file"]))
    for log in tmp.glob("*.log"):
        shutil.copy(log, run_dir / f"{name}-{log.name}")
    row.update(summary=summary, usage=usage)
    return row


def steps_together(config: str, players: int, watchers: list[int], args, run_dir: Path, run: int) -> list[dict]:
    """`--together`: one set of servers per spectator count, all loaded at the same time.

    Run one after another, a watched and an unwatched game each met whatever the shared
    machine was doing in their own minutes, and its slow spells set their p99s. Side by side in
    one window, both meet the same spells: what still differs is what the spectators cost.
    """
    with contextlib.ExitStack() as stack:
        started = []
        for spectators in watchers:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            started.append((spectators, tmp, stack.enter_context(Servers(config, GAME_APP, args.server_env, tmp))))
        rows: dict[int, dict] = {}
        failures: list[BaseException] = []

        def load(spectators: int, tmp: Path, servers: Servers) -> None:
            try:
                rows[spectators] = game_row(servers, tmp, config, players, spectators, args, run_dir, run)
            except BaseException as error:  # re-raised below, in the main thread
                failures.append(error)

        threads = [threading.Thread(target=load, args=setup) for setup in started]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    return [rows[spectators] for spectators in watchers]


def step(config: str, players: int, spectators: int, args, run_dir: Path, run: int = 0) -> dict:
    app, env = GAME_APP, args.server_env
    if args.gc_log:
        gc_dir = run_dir / f"gc-{step_name(config, players, spectators, args, run)}"
        gc_dir.mkdir()
        app, env = GC_PROBE_APP, {**env, "GC_PROBE_DIR": str(gc_dir)}
    with tempfile.TemporaryDirectory() as tmp, Servers(config, app, env, Path(tmp)) as servers:
        row = game_row(servers, Path(tmp), config, players, spectators, args, run_dir, run)
    if args.gc_log:
        row["gc"] = collections_in_window(gc_dir, row["summary"])
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp, Servers(config, RELAY_APP, args.server_env, Path(tmp)) as servers:
            relay, relay_usage = run_relay(servers, players, args)
        row.update(relay=relay, relay_usage=relay_usage)
    return row


def collections_in_window(gc_dir: Path, summary: dict) -> dict[str, dict]:
    """The servers' garbage collections inside the measured window (`--gc-log`), by generation:
    how many, their mean and largest wall time, their mean CPU time (ms)."""
    by_generation: dict[str, list[tuple[float, float]]] = {}
    for log in gc_dir.glob("gc-*.log"):
        for line in log.read_text().splitlines():
            ended, generation, wall, cpu, _ = line.split()
            if summary["window_start_unix"] <= float(ended) <= summary["window_end_unix"]:
                by_generation.setdefault(generation, []).append((float(wall), float(cpu)))
    return {generation: {"collections": len(pauses), "mean_wall_ms": round(sum(w for w, _ in pauses) / len(pauses), 1),
                         "max_wall_ms": round(max(w for w, _ in pauses), 1),
                         "mean_cpu_ms": round(sum(c for _, c in pauses) / len(pauses), 1)}
            for generation, pauses in sorted(by_generation.items())}


def gc_line(row: dict) -> str:
    return f"  garbage collections in the window ({row['config']}, {row['players']}): " + "; ".join(
        f"generation {generation}: {g['collections']}, mean {g['mean_wall_ms']} ms (CPU {g['mean_cpu_ms']}), "
        f"largest {g['max_wall_ms']} ms" for generation, g in row["gc"].items())


# --- Report -------------------------------------------------------------------------------

HEADER = ("| config | players | spectators | moves/s | p50 ms | p99 ms | errors / gaps / conn. fail. "
          "| spectator frames / gaps / fail. | daphne CPU % | nginx CPU % | PostgreSQL CPU % | Redis CPU % "
          "| load generator CPU % | machine CPU % (of 100 × cores) | machine CPU ms a move "
          "| daphne RSS MB | KiB/player | relay msg/s | relay p50 / p99 ms | relay daphne CPU % "
          "| relay machine CPU % | relay machine CPU ms a relay |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def machine_ms(usage: dict, per_s: float) -> str:
    """The machine's busy CPU time per move (or relay) over the window, in ms."""
    return f"{10 * usage['machine']['cpu_pct'] / per_s:.2f}" if per_s else "–"


def table_row(row: dict) -> str:
    s, u = row["summary"], row["usage"]
    daphne = u["daphne"]
    per_player = (daphne["rss_kb"] - daphne["idle_rss_kb"]) / row["players"]
    cpu = {name: u[name]["cpu_pct"] if name in u else "–" for name in ("nginx", "postgres", "redis", "load generator",
                                                                        "machine")}
    relay = row.get("relay")
    relay_cells = ("–",) * 5 if relay is None else (
        relay["messages_per_s"], f"{relay['p50_ms']} / {relay['p99_ms']}", row["relay_usage"]["daphne"]["cpu_pct"],
        row["relay_usage"]["machine"]["cpu_pct"], machine_ms(row["relay_usage"], relay["messages_per_s"]))
    watched = (f"{s.get('spectator_frames', 0)} / {s.get('spectator_gaps', 0)} / {s.get('spectator_failures', 0)}"
               if row.get("spectators") else "–")
    return (f"| {row['config']} | {row['players']} | {row.get('spectators', 0)} | {s['moves_per_s']} | {s['p50_ms']} "
            f"| {s['p99_ms']} | {s['errors']} / {s['gaps']} / {s['connect_failures']} | {watched} "
            f"| {daphne['cpu_pct']} | {cpu['nginx']} | {cpu['postgres']} | {cpu['redis']} | {cpu['load generator']} "
            f"| {cpu['machine']} | {machine_ms(u, s['moves_per_s'])} "
            f"| {daphne['rss_kb'] / 1024:.0f} | {per_player:.0f} | {' | '.join(map(str, relay_cells))} |")


def held(rows: list[dict], goal_ms: float) -> int:
    """The most players a configuration held: p99 under the goal, nothing lost or refused (spectators' gaps included)."""
    ok = [r["players"] for r in rows if r["summary"]["p99_ms"] is not None and r["summary"]["p99_ms"] < goal_ms
          and not (r["summary"]["errors"] or r["summary"]["gaps"] or r["summary"]["connect_failures"]
                   or r["summary"].get("spectator_gaps"))]
    return max(ok, default=0)


def watched_ratios(rows: list[dict]) -> list[str]:
    """Each watched step's p99 move latency beside the same configuration and players unwatched
    (in the same round of `--repeat`), then, when repeated, over every round's moves pooled."""
    unwatched = {(r["config"], r["players"], r["run"]): r["summary"]["p99_ms"] for r in rows if not r["spectators"]}
    lines = []
    for r in rows:
        bare = unwatched.get((r["config"], r["players"], r["run"]))
        if r["spectators"] and bare and r["summary"]["p99_ms"] is not None:
            lines.append(f"* {r['config']}, {r['players']} players, run {r['run']}: p99 with {r['spectators']} "
                         f"spectators ÷ unwatched = {r['summary']['p99_ms']} ÷ {bare} = "
                         f"**{r['summary']['p99_ms'] / bare:.2f}×**")
    if len({r["run"] for r in rows}) < 2:
        return lines
    pooled: dict[tuple, list[float]] = {}
    for r in rows:
        pooled.setdefault((r["config"], r["players"], r["spectators"]), []).extend(read_latencies(r))
    for (config, players, spectators), moves in pooled.items():
        bare = pooled.get((config, players, 0))
        if spectators and bare and moves:
            watched_p99, bare_p99 = percentile(moves, 0.99), percentile(bare, 0.99)
            lines.append(f"* {config}, {players} players, every run pooled ({len(moves)} and {len(bare)} moves): "
                         f"p99 with {spectators} spectators ÷ unwatched = {watched_p99:.1f} ÷ {bare_p99:.1f} = "
                         f"**{watched_p99 / bare_p99:.2f}×** (p50 {percentile(moves, 0.5):.1f} and "
                         f"{percentile(bare, 0.5):.1f} ms)")
    return lines


def read_latencies(row: dict) -> list[float]:
    """The move latencies (ms) the step's loadtest wrote (`--latencies`: each line a time and a latency)."""
    path = Path(row["latencies_file"])
    return [float(line.split()[-1]) for line in path.read_text().splitlines() if line] if path.exists() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", choices=["default", "nginx-pg-redis", "both"], default="both")
    parser.add_argument("--players", default="40,200", help="comma-separated player counts, multiples of 4")
    parser.add_argument("--think", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds measured per step")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds after the last spawn before measuring")
    parser.add_argument("--spawn-rate", type=float, default=50.0, help="players connected per second")
    parser.add_argument("--goal-ms", type=float, default=250.0, help="the p99 move latency to stay under")
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the bare relay at each step")
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                        help="an extra server setting (repeatable), e.g. ROOMS_PER_ADDRESS=100000")
    parser.add_argument("--rematch", action="store_true",
                        help="the bots of a finished game play its rematch, and spectators follow their table to it")
    parser.add_argument("--spectators", default="0",
                        help="comma-separated spectator counts: each player count is run once with each")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run every step this many times, the spectator counts taking turns, and pool the moves")
    parser.add_argument("--gc-log", action="store_true",
                        help="write down the game servers' garbage collections and report those in the window")
    parser.add_argument("--together", action="store_true",
                        help="run each step's spectator counts at the same time, each on servers of its own "
                             "(no relay baseline)")
    args = parser.parse_args()
    if args.together and args.gc_log:
        parser.error("--gc-log: not with --together")
    if args.together:
        args.baseline = False
    args.server_env = dict(item.split("=", 1) for item in args.server_env)
    counts = [int(n) for n in args.players.split(",")]
    if any(n < 4 or n % 4 for n in counts):
        parser.error("--players: multiples of 4")
    watchers = [int(n) for n in args.spectators.split(",")]
    if any(n < 0 for n in watchers):
        parser.error("--spectators: not negative")
    if args.repeat < 1:
        parser.error("--repeat: at least 1")
    configs = ["default", "nginx-pg-redis"] if args.config == "both" else [args.config]
    raise_open_file_limit()  # inherited by daphne, nginx and the load generator

    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = OUT / f"capacity-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    print(HEADER, flush=True)
    for config in configs:
        for players in counts:
            for run in range(args.repeat):
                if args.together:
                    for row in steps_together(config, players, watchers, args, run_dir, run):
                        rows.append(row)
                        print(table_row(row), flush=True)
                    continue
                for spectators in watchers:
                    row = step(config, players, spectators, args, run_dir, run)
                    rows.append(row)
                    print(table_row(row), flush=True)
                    if "gc" in row:
                        print(gc_line(row), flush=True)
    verdict = {config: held([r for r in rows if r["config"] == config], args.goal_ms) for config in configs}
    lines = [HEADER, *map(table_row, rows), "",
             *(f"* {config}: held **{n}** players at p99 < {args.goal_ms:.0f} ms (think {args.think} s)"
               for config, n in verdict.items()),
             *watched_ratios(rows), *(gc_line(row) for row in rows if "gc" in row)]
    (OUT / f"capacity-{stamp}.md").write_text("\n".join(lines) + "\n")
    (OUT / f"capacity-{stamp}.json").write_text(json.dumps(
        {"args": {k: v for k, v in vars(args).items()}, "rows": rows, "held": verdict}, indent=1))
    print("\n".join(lines[len(rows) + 2:]))
    print(f"written: {OUT / f'capacity-{stamp}.md'} and .json; logs in {run_dir}")


if __name__ == "__main__":
    main()
