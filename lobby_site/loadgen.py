"""Load generation over real sockets: bots that keep N players seated in 4-seat rooms.

Used by `manage.py loadtest` (the command line and progress bar) and bench/capacity.py.
Each bot loops: take a seat through the lobby (the first of every four creates the room
with `CREATE_A_ROOM`, the three others `JOIN_ROOM` it), connect its game socket, answer
every prompt after the think time (±20 % jitter), and at `GAME_OVER` go back to the lobby
for a new room, so the load stays at N players until the run ends.

A **move** is an answer to a prompt (turn, name, give or discard) that the server did not
refuse. Its **latency** runs from sending the answer to the arrival of the first WebSocket
message on the same seat's socket holding a frame numbered after the answered prompt — the
first frame of the change the answer made (its `played`/`drew` event, or the next prompt).
In a load test only the prompted seat can act, so nothing else is numbered in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import resource
import time
from collections import Counter, deque
from dataclasses import dataclass, field

import websockets

from lobby_site.bot import choose_answer
from lobby_site.client import LobbyClient, SeatClient, ServerError, decode_message, is_stale_answer, rematch
from lobby_site.wire import ClientCmd, ServerCmd

SEATS = 4
RECENT = 5.0  # seconds of history behind the progress bar's moves/s and p99
RETRY_PAUSE = 1.0  # seconds before a bot whose lobby call failed tries again
FOLLOW_WAIT = 30.0  # seconds a following spectator waits after a game's end for its rematch
SEATED_WAIT = 30.0  # seconds the measured window waits at most for the last bots to be seated


def raise_open_file_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (children inherit it); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (nearest rank) of `values`, or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Stats:
    """Counters of a run. Moves and latencies count only inside the measured window."""

    players: int
    moves: int = 0
    latencies: list[float] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)  # when each of `latencies`' answers was sent (time.time())
    recent: deque = field(default_factory=deque)  # (arrived, latency) for the progress bar
    errors: Counter = field(default_factory=Counter)  # ERROR frames by code (unexpected ones)
    stale_answers: int = 0  # STALE_PROMPT refusals: expected, see `record_frame`
    connect_failures: int = 0
    rooms: int = 0
    live_rooms: list = field(default_factory=list)  # rooms made, newest last: what spectators watch
    spectator_frames: int = 0
    spectator_gaps: int = 0
    spectator_failures: int = 0
    spectator_moves: int = 0  # WATCH_MOVED frames: a following socket taken to its table's rematch
    games_finished: int = 0
    retired: Counter = field(default_factory=Counter)  # gaps etc. of seat connections already closed
    seats: set = field(default_factory=set)  # the open SeatClients
    window: tuple[float, float | None] | None = None  # (start, end) on the perf_counter clock
    window_unix: tuple[float, float | None] | None = None  # the same on the wall clock (for CPU samples)

    def open_window(self) -> None:
        self.window, self.window_unix = (time.perf_counter(), None), (time.time(), None)

    def close_window(self) -> None:
        if self.measuring():
            self.window = (self.window[0], time.perf_counter())
            self.window_unix = (self.window_unix[0], time.time())

    def measuring(self) -> bool:
        return self.window is not None and self.window[1] is None

    def record_answer(self, latency: float, error: dict | None) -> None:
        if error is not None:
            return
        self.recent.append((time.perf_counter(), latency))  # the progress bar shows the ramp too
        if self.measuring():
            self.moves += 1
            self.latencies.append(latency)
            self.answered_at.append(time.time() - latency)

    def record_frame(self, frame: dict) -> None:
        """Count ERROR frames. STALE_PROMPT is expected: an answer sent just before a snapshot
        re-offered the same prompt (a resync) is refused and changes nothing (docs/protocol.md)."""
        if frame["cmd"] != ServerCmd.ERROR:
            return
        if is_stale_answer(frame):
            self.stale_answers += 1
        else:
            self.errors[(frame["payload"]["data"] or {}).get("code", "?")] += 1

    def seat_totals(self) -> Counter:
        """Gaps, status requests, reconnects and connect failures over every seat connection."""
        totals = Counter(self.retired)
        for seat in self.seats:
            totals.update(seat_counters(seat))
        return totals

    def recent_rate_and_p99(self) -> tuple[float, float | None]:
        now = time.perf_counter()
        while self.recent and self.recent[0][0] < now - RECENT:
            self.recent.popleft()
        return len(self.recent) / RECENT, percentile([latency for _, latency in self.recent], 0.99)


def seat_counters(seat: SeatClient) -> Counter:
    return Counter(gaps=seat.state.gaps, status_requests=seat.status_requests, reconnects=seat.reconnects,
                   connect_failures=seat.connect_failures)


class Matchmaker:
    """Seats bots four to a room: the first of each four creates it, the next three join it."""

    def __init__(self, base_url: str, stats: Stats, room_options: dict | None = None):
        self.base_url = base_url
        self.stats = stats
        self.room_options = room_options or {}
        self._filling: tuple[asyncio.Future, list[int]] | None = None  # (room id, [seats claimed])
        self._rooms_made = 0

    async def take_seat(self, user_name: str) -> tuple[int, str]:
        """Return (room_id, token) of a seat for `user_name`; raise what the lobby raised."""
        if self._filling is None:
            self._filling = (asyncio.get_running_loop().create_future(), [0])
            creator = True
        else:
            creator = False
        room, claimed = self._filling
        claimed[0] += 1
        if claimed[0] == SEATS:
            self._filling = None
        if creator:
            self._rooms_made += 1
            try:
                async with LobbyClient(self.base_url) as lobby:
                    made = await lobby.create_room(f"load {self._rooms_made}", SEATS, user_name, **self.room_options)
            except BaseException as error:
                if self._filling is not None and self._filling[0] is room:
                    self._filling = None  # nobody else may wait for a room that will not come
                hint = (" (every bot comes from one address: raise the server's ROOMS_PER_ADDRESS)"
                        if getattr(error, "code", None) == "LIMIT_REACHED" else "")
                room.set_exception(ConnectionError(f"the room was not made: {error!r}{hint}"))
                room.exception()  # retrieved here: maybe no joiner ever waits for it
                raise
            self.stats.rooms += 1
            self.stats.live_rooms.append(made["room"]["room_id"])
            room.set_result(made["room"]["room_id"])
            return made["room"]["room_id"], made["player"]["token"]
        room_id = await asyncio.shield(room)
        async with LobbyClient(self.base_url) as lobby:
            joined = await lobby.join_room(room_id, user_name)
        return room_id, joined["player"]["token"]


@dataclass
class LoadConfig:
    base_url: str
    players: int
    think: float
    batch: bool = True
    seed: int | None = None
    spectators: int = 0  # spectators spread over the bots' rooms (watch sockets, docs/protocol.md "Spectators")
    rematch: bool = False  # a finished game's bots play its rematch; spectators follow their table (?follow=1)


class Bot:
    """One simulated player: seats itself, plays, and comes back for another game."""

    def __init__(self, index: int, config: LoadConfig, matchmaker: Matchmaker, stats: Stats):
        self.name = f"bot {index}"
        self.config = config
        self.matchmaker = matchmaker
        self.stats = stats
        self.rng = random.Random(None if config.seed is None else config.seed + index)
        self.seat: SeatClient | None = None
        self.stopped = False  # set when the run ends: no new seat after the current game
        self.seated = False  # a seat socket of this bot has said CONNECTED once

    def has_been_seated(self) -> bool:
        """Whether a seat socket of this bot has said CONNECTED; looked at by polling (`all_seated`),
        so that no frame pays for a callback."""
        self.seated = self.seated or (self.seat is not None and self.seat.connected.is_set())
        return self.seated

    async def run(self) -> None:
        seat = None  # (room_id, token) of the next game: its rematch's, or one the matchmaker finds
        while not self.stopped:
            if seat is None:
                try:
                    seat = await self.matchmaker.take_seat(self.name)
                except ServerError as error:
                    self.stats.errors[error.code] += 1
                    await asyncio.sleep(RETRY_PAUSE)
                    continue
                except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake, websockets.ConnectionClosed,
                        ConnectionError):
                    self.stats.connect_failures += 1
                    await asyncio.sleep(RETRY_PAUSE)
                    continue
            over = await self.play(*seat)
            seat = await self.play_again(*seat) if over and self.config.rematch and not self.stopped else None

    async def play_again(self, room_id: int, token: str) -> tuple[int, str] | None:
        """Take a seat in the finished game's rematch, after a moment at the table; None if refused."""
        await asyncio.sleep(self.config.think * self.rng.uniform(0.8, 1.2))
        try:
            made = await rematch(self.config.base_url, room_id, token)
        except ServerError as error:
            self.stats.errors[error.code] += 1
            return None
        except (OSError, asyncio.TimeoutError, ConnectionError):
            self.stats.connect_failures += 1
            return None
        return made["room"]["room_id"], made["player"]["token"]

    async def play(self, room_id: int, token: str) -> bool:
        """Play one game in `room_id`; return whether it ended (not stopped or lost)."""
        seat = SeatClient(self.config.base_url, room_id, token, batch=self.config.batch,
                          on_frame=self.stats.record_frame, on_answer=self.stats.record_answer)
        self.seat = seat
        self.stats.seats.add(seat)
        try:
            async with seat:
                while (prompt := await seat.next_prompt()) is not None:
                    await asyncio.sleep(self.config.think * self.rng.uniform(0.8, 1.2))
                    current = seat.state.current_prompt
                    if current is None or current["msg_id"] != prompt["msg_id"]:
                        continue  # the prompt was cancelled or superseded while thinking
                    data = choose_answer(current["payload"], seat.state.hand, seat.state.top_card_id, self.rng)
                    try:
                        await seat.answer(data, current)
                    except (ConnectionError, websockets.ConnectionClosed):
                        continue  # the reconnect's RESUME offers the prompt again
        finally:
            self.stats.seats.discard(seat)
            self.stats.retired.update(seat_counters(seat))
            if seat.state.over is not None and seat.state.seat == 0:
                self.stats.games_finished += 1
            if seat.state.over is not None:
                with contextlib.suppress(ValueError):
                    self.stats.live_rooms.remove(room_id)  # spectators watch games still running
            self.seat = None
        return seat.state.over is not None


async def watch_games(index: int, config: LoadConfig, stats: Stats) -> None:
    """One spectator: watch a room the bots play in (spread by `index`) to its end, then another.

    Checks the spectator stream: every GAME_EVENT and GAME_OVER numbered one after the last.
    After a game's end it moves on within RETRY_PAUSE (people do not all leave at one instant)
    — or, with `rematch`, stays on its socket, which follows the table to its rematch
    (WATCH_MOVED), and moves on only if none comes within FOLLOW_WAIT.
    """
    rng = random.Random(index)
    query = "?batch=1&follow=1" if config.rematch else "?batch=1"
    while True:
        if not stats.live_rooms:
            await asyncio.sleep(RETRY_PAUSE)
            continue
        room_id = stats.live_rooms[-1 - index % min(len(stats.live_rooms), 50)]
        last = None
        try:
            # No client pings, as a browser sends none (and as the bots' sockets, lobby_site/client.py).
            async with websockets.connect(f"{config.base_url}/ws/rooms/{room_id}/watch/{query}",
                                          open_timeout=10, max_size=None, ping_interval=None) as socket:
                over = False
                while True:
                    try:
                        text = await asyncio.wait_for(socket.recv(), FOLLOW_WAIT if over else None)
                    except (asyncio.TimeoutError, websockets.ConnectionClosedOK):
                        break  # no rematch came, or the socket closed normally: watch another game
                    for frame in decode_message(text):
                        cmd, msg_id = frame["cmd"], frame["msg_id"]
                        if cmd == "WATCH_MOVED":  # the table's rematch, numbered by its own stream
                            room_id, last, over = frame["payload"]["data"]["room_id"], None, False
                            stats.spectator_moves += 1
                        elif cmd == "WATCHING":
                            last = msg_id
                        elif cmd in ("GAME_EVENT", "GAME_OVER") and last is not None:
                            stats.spectator_frames += 1
                            stats.spectator_gaps += msg_id != last + 1
                            last = msg_id
                        if cmd == "GAME_OVER" or (cmd == "WATCHING" and frame["payload"]["data"]["outcome"]):
                            over = True
                            # A finished game is no longer watched: without this, its spectators
                            # would reconnect to it (WATCHING with an outcome) in a loop.
                            with contextlib.suppress(ValueError):
                                stats.live_rooms.remove(room_id)
                    if over and not config.rematch:
                        break
            await asyncio.sleep(rng.uniform(0, RETRY_PAUSE))
        except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake, websockets.ConnectionClosed):
            stats.spectator_failures += 1
            await asyncio.sleep(RETRY_PAUSE)


async def follow_live_games(config: LoadConfig, stats: Stats) -> None:
    """Keep `stats.live_rooms` on the lobby's list of games being played, as the lobby page does:
    GET_LIVE_GAMES once, then every LIVE_GAMES_CHANGED push. What spectators of a run without
    bots of its own watch, found as people find them."""

    def follow(frame: dict) -> None:
        stats.live_rooms[:] = [game["room_id"] for game in reversed(frame["payload"]["data"]["games"])]

    while True:
        try:
            async with LobbyClient(config.base_url) as lobby:
                follow(await lobby.request(ClientCmd.GET_LIVE_GAMES))
                async for frame in lobby.pushed():
                    if frame["cmd"] == ServerCmd.LIVE_GAMES_CHANGED:
                        follow(frame)
        except (OSError, asyncio.TimeoutError, ConnectionError, ServerError, websockets.InvalidHandshake,
                websockets.ConnectionClosed):
            pass  # the lobby went away (a restart, a refused connection): follow it again after a pause
        await asyncio.sleep(RETRY_PAUSE)


async def run_load(config: LoadConfig, stats: Stats, *, spawn_rate: float, warmup: float, duration: float,
                   room_options: dict | None = None) -> None:
    """Spawn the bots at `spawn_rate`/s, measure for `duration` s after `warmup`, then stop them all."""
    matchmaker = Matchmaker(config.base_url, stats, room_options)
    bots = [Bot(index, config, matchmaker, stats) for index in range(config.players)]
    tasks = []
    try:
        for bot in bots:
            tasks.append(asyncio.create_task(bot.run()))
            await asyncio.sleep(1 / spawn_rate)
        if not bots and config.spectators:
            tasks.append(asyncio.create_task(follow_live_games(config, stats)))
        for index in range(config.spectators):
            tasks.append(asyncio.create_task(watch_games(index, config, stats)))
            await asyncio.sleep(1 / spawn_rate)
        await all_seated(bots, stats, SEATED_WAIT)
        with collector_paused():  # from before the warmup, which absorbs the collection made first
            await asyncio.sleep(warmup)
            stats.open_window()
            await asyncio.sleep(duration)
            stats.close_window()  # before the collector is back on
    finally:
        stats.close_window()
        for bot in bots:
            bot.stopped = True
        await asyncio.gather(*(bot.seat.stop() for bot in bots if bot.seat is not None), return_exceptions=True)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.contextmanager
def collector_paused():
    """Keep the load generator's own garbage collector out of the window it measures.

    The bots' working set (about seventy asyncio objects each: sleeps, reads, futures) is
    remade every think time, so it is always young: a collection of the youngest generation
    walked ~200,000 objects at 3,000 players and paused every bot 100–330 ms, and each such
    pause was counted as the server's move latency (bench/README.md, fifteenth session).
    Objects are still freed by reference counting; only cyclic garbage waits. The collector
    runs once before the warmup (a full collection: 0.3-0.7 s at those sizes, which a bot
    answering then would also have counted) and again as the window closes.
    """
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def all_seated(bots: list[Bot], stats: Stats, limit: float) -> None:
    """Return once every bot has been seated (its seat socket CONNECTED), or a connection has
    failed (the run fails anyway), or after `limit` s.

    Why the warmup counts from here, not from the last bot spawned: under load the lobby's
    join runs seconds behind the spawning, and the last tables' games began inside the
    window, their greetings and deals (not moves) holding up the moves already playing (at
    2,500 players behind nginx, 0.9 s at the window's first second: bench/README.md,
    fourteenth session). A bot that never gets a seat is a connection failure, counted as such.
    """
    deadline = time.monotonic() + limit
    while (not all(bot.has_been_seated() for bot in bots) and not stats.connect_failures
           and time.monotonic() < deadline):
        await asyncio.sleep(0.25)


def summary(stats: Stats, config: LoadConfig, *, client_cpu_pct: float) -> dict:
    """The run's figures: the keys `manage.py loadtest` prints as its last line."""
    start, end = stats.window if stats.window and stats.window[1] else (0.0, 0.0)
    window = end - start
    totals = stats.seat_totals()

    def ms(q):
        value = percentile(stats.latencies, q)
        return None if value is None else round(1000 * value, 1)

    return {
        "players": config.players,
        "moves_per_s": round(stats.moves / window, 2) if window > 0 else 0.0,
        "p50_ms": ms(0.50), "p95_ms": ms(0.95), "p99_ms": ms(0.99), "max_ms": ms(1.0),
        "connect_failures": stats.connect_failures + totals["connect_failures"],
        "errors": sum(stats.errors.values()),
        "gaps": totals["gaps"],
        "moves": stats.moves,
        "duration_s": round(window, 2),
        "rooms": stats.rooms,
        "games_finished": stats.games_finished,
        "error_codes": dict(stats.errors),
        "stale_answers": stats.stale_answers,
        "status_requests": totals["status_requests"],
        "reconnects": totals["reconnects"],
        "think_s": config.think,
        "batch": config.batch,
        "spectators": config.spectators,
        "spectator_frames": stats.spectator_frames,
        "spectator_gaps": stats.spectator_gaps,
        "spectator_failures": stats.spectator_failures,
        "spectator_moves": stats.spectator_moves,
        "client_cpu_pct": client_cpu_pct,
        "window_start_unix": stats.window_unix and round(stats.window_unix[0], 3),
        "window_end_unix": stats.window_unix and stats.window_unix[1] and round(stats.window_unix[1], 3),
    }


