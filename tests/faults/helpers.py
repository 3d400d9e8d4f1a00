"""Bots that play through the protocol client while a fault is injected, and the checks of
what must survive it: every answered move in the game log, R16, each seat's view."""

from __future__ import annotations

import asyncio
import contextlib
import time

import websockets

from lobby_site.bot import choose_answer
from lobby_site.client import LobbyClient, SeatClient
from tests.game.helpers import conservation
from tests.game.servers import game_row

# Tunables every fault test's servers share: a fixed seed, no computer acting for an absent
# seat (AWAY_WAIT) while its client reconnects, a bounded game.
SERVER_SETTINGS = {"GAME_SEED": 9090, "MAX_TURNS": 400, "AWAY_WAIT": 600, "ROOMMATE_INTERVAL": 60,
                   "RATE_LIMIT": 1000, "LOG_LEVEL": "INFO"}


class Seat(SeatClient):
    """A bot's seat over one or more servers.

    After a connection attempt fails it tries the next URL (a client that knows several
    servers, as behind a load balancer); resyncs quickly (`silence` 2 s); records every close
    code it saw, and the last answer it sent to each prompt: a prompt answered again after a
    reconnect (the snapshot still offered it) was not changed by the earlier answer, so the
    game must hold the last one — once the game is over, every answered prompt has been.
    """

    def __init__(self, base_urls: list[str], room_id: int, token: str, **kwargs):
        self.urls = [f"{url.rstrip('/')}/ws/rooms/{room_id}/" for url in base_urls]
        kwargs = {"silence": 2.0, "backoff": (0.2, 2.0), "max_attempts": 40, **kwargs}
        super().__init__(base_urls[0], room_id, token, on_answer=self._answered, on_frame=self._frame, **kwargs)
        self.snapshots: list[tuple[float, str]] = []  # (monotonic time, RESUME or GAME_STATUS)
        self.pushed: list[float] = []  # monotonic times of numbered frames that came through the groups
        self.closes: list[tuple[float, int | None]] = []  # (monotonic time, close code received)
        self.answers: dict[int, tuple[str, dict | str]] = {}  # prompt msg_id -> (kind, last answer data)
        self.resent = 0  # answers sent again to a prompt a snapshot still offered
        self.refused: list[dict] = []  # ERROR frames refusing an answer

    @property
    def url(self) -> str:
        return self.urls[self.connect_failures % len(self.urls)]

    @url.setter
    def url(self, value: str) -> None:
        pass  # the URLs are set above

    async def _read(self, ws) -> None:
        try:
            await super()._read(ws)
        except websockets.ConnectionClosed as closed:
            self.closes.append((time.monotonic(), closed.rcvd.code if closed.rcvd is not None else None))
            raise

    async def answer(self, data, prompt=None) -> int:
        prompt = prompt or self.state.current_prompt
        self.resent += prompt["msg_id"] in self.answers
        self.answers[prompt["msg_id"]] = (prompt["payload"]["data"]["kind"], data)
        return await super().answer(data, prompt)

    def _frame(self, frame: dict) -> None:
        if frame["cmd"] in ("RESUME", "GAME_STATUS"):
            self.snapshots.append((time.monotonic(), frame["cmd"]))
        elif frame["msg_id"] is not None:
            self.pushed.append(time.monotonic())

    def _answered(self, latency: float, error: dict | None) -> None:
        if error is not None:
            self.refused.append(error)


async def play(seat: Seat, on_answer=None, think: float = 0.0, timeout: float = 60) -> dict:
    """Answer every prompt with the bot strategy until the game is over; return GAME_OVER's data.

    An answer lost with its socket is answered again once the snapshot after the reconnect
    offers the prompt again. `think` seconds pass before each answer, so a fault lands mid-game.
    """
    while (prompt := await asyncio.wait_for(seat.next_prompt(), timeout)) is not None:
        await asyncio.sleep(think)
        if seat.state.current_prompt is not prompt:
            continue  # a snapshot replaced it meanwhile
        data = choose_answer(prompt["payload"], seat.state.hand, seat.state.top_card_id)
        with contextlib.suppress(ConnectionError, websockets.ConnectionClosed):
            await seat.answer(data, prompt)
            if on_answer is not None:
                on_answer(seat)
    assert seat.state.over is not None, f"seat {seat.state.seat} stopped before the end"
    return seat.state.over


async def play_through(seats: list[Seat], fault, after: int = 8, think: float = 0.08,
                       timeout: float = 60) -> list[dict]:
    """Play every seat to the end; once `after` answers were sent in all, await `fault()` while
    the bots play on. Return each seat's GAME_OVER data."""
    reached = asyncio.Event()
    sent = 0

    def counted(seat):
        nonlocal sent
        sent += 1
        if sent >= after:
            reached.set()

    for seat in seats:
        await seat.__aenter__()
    tasks = [asyncio.create_task(play(seat, counted, think)) for seat in seats]
    try:
        await asyncio.wait_for(reached.wait(), 30)
        assert all(seat.state.over is None for seat in seats), "the game ended before the fault"
        await fault()
        return await asyncio.wait_for(asyncio.gather(*tasks), timeout)
    finally:
        for task in tasks:
            task.cancel()
        for seat in seats:
            await seat.__aexit__(None, None, None)


async def make_room(ws_url: str, name: str, humans: int = 2, computers: int = 0) -> tuple[int, list[str]]:
    """Create a room through the lobby and fill its human seats; return (room_id, tokens by seat)."""
    async with LobbyClient(ws_url) as lobby:
        made = await lobby.create_room(name, humans + computers, "Ann", computers=computers)
        tokens = [made["player"]["token"]]
        for k in range(1, humans):
            joined = await lobby.join_room(made["room"]["room_id"], f"Bob {k}")
            tokens.append(joined["player"]["token"])
    return made["room"]["room_id"], tokens


def first_after(times: list[float], moment: float) -> float | None:
    """Seconds from `moment` to the first of `times` after it (None if none)."""
    later = [at for at in times if at > moment]
    return round(later[0] - moment, 2) if later else None


def log_events(database_url: str, room_id: int) -> list[dict]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT l.events FROM game_gamelog l JOIN game_game g ON g.id = l.game_id "
                            "WHERE g.room_id = %s ORDER BY l.version", (room_id,)).fetchall()
    return [event for (events,) in rows for event in events]


def answer_events(events: list[dict], seat: int) -> list[tuple[str, object]]:
    """The seat's events that only its own answers make (no computer may act for it here)."""
    made = []
    for event in events:
        if event.get("seat") != seat:
            continue
        if event["event"] == "played":
            made.append(("play", [card["id"] for card in event["cards"]]))
        elif event["event"] == "drew" and event["reason"] in ("draw", "pick"):
            made.append(("draw", None))
        elif event["event"] == "gave":
            made.append(("give", event["card"]["id"]))
    return made


def answered_events(seat: Seat) -> list[tuple[str, object]]:
    """What the seat's answers must have put in the log, in order: one per prompt answered."""
    made = []
    for _, (kind, data) in sorted(seat.answers.items()):
        if kind == "turn":
            made.append(("play", data["cards"]) if data["cards"] else ("draw", None))
        elif kind == "give":
            made.append(("give", data["cards"][0]))
    return made


def check_game(database_url: str, room_id: int, seats: list[Seat]) -> dict:
    """The game finished; R16 holds; every answered prompt's answer is in the log, once, in
    order, and the log holds no move of a seat that it did not answer; each seat's hand and
    msg_id match the database."""
    row = game_row(database_url, room_id)
    assert row["status"] == "finished" and row["games"] == 1
    conservation(row["state"])
    assert row["event_count"] == row["events"]
    events = log_events(database_url, room_id)
    assert events[-1]["event"] == "game_over"
    for seat in seats:
        number = seat.state.seat
        assert answer_events(events, number) == answered_events(seat), f"seat {number}'s answers"
        assert seat.state.hand == sorted(row["state"]["hands"][number]), f"seat {number}'s hand"
        assert seat.state.last_msg_id == row["seats"][number]["msg_id"]
    return row


def check_games(database_url: str, seats: list[Seat]) -> list[dict]:
    """`check_game` for every room the seats play in; each room's seats were told the same end."""
    rows = []
    for room_id in sorted({seat.room_id for seat in seats}):
        players = [seat for seat in seats if seat.room_id == room_id]
        assert all(seat.state.over == players[0].state.over for seat in players)
        rows.append(check_game(database_url, room_id, players))
    return rows


async def two_rooms(ws_urls: tuple[str, str], name: str) -> list[Seat]:
    """Two rooms — two people, and two people with a computer — whose seats start on the
    servers in `ws_urls` crosswise (each client knows every URL, its own first); return the
    seats, the first room's first."""
    seats = []
    for number, computers in enumerate((0, 1)):
        room_id, tokens = await make_room(ws_urls[0], f"{name} {number + 1}", computers=computers)
        for k, token in enumerate(tokens):
            own = (k + number) % 2
            seats.append(Seat([ws_urls[own], ws_urls[1 - own]] if ws_urls[0] != ws_urls[1] else [ws_urls[0]],
                              room_id, token))
    return seats
