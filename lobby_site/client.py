"""A client of the Discard wire protocol (docs/protocol.md), for bots, load tests and the terminal.

Pure asyncio over the `websockets` library; it imports only `lobby_site.wire`'s enums, so it
runs without Django settings.

* `LobbyClient` — `/ws/lobby/`: request/answer calls (`get_rooms`, `create_room`,
  `join_room`, the draft calls) matched by msg_id, and `next_push()` for what the server
  pushes unasked (`ROOMS_CHANGED`, `DRAFT_RESOLVED`, …).
* `SeatState` — one seat's picture of its game, built from frames alone and doing no I/O:
  the msg_id sequence (gaps, snapshots, duplicates), the pending prompt, the hand, the top
  card, the outcome. Requests it needs sent (`GET_GAME_STATUS` after a gap) wait in `outbox`.
* `SeatClient` — `/ws/rooms/<id>/`: HELLO (asking for batches unless told not to), feeds
  every message — one frame, or a JSON array of frames — to a `SeatState`, resyncs after a
  gap or 15 s of silence, reconnects with backoff, and times each answer.

Playing, in short::

    async with SeatClient(base_url, room_id, token) as seat:
        while (prompt := await seat.next_prompt()) is not None:
            await seat.answer(choose_answer(prompt["payload"], seat.state.hand, seat.state.top_card_id))
        print(seat.state.over)
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable

import orjson
import websockets

from lobby_site.wire import ClientCmd, ErrorCode, Flag, ServerCmd

SNAPSHOTS = frozenset({ServerCmd.RESUME, ServerCmd.GAME_STATUS, ServerCmd.PLAYER_STATE})
SILENCE_RESYNC = 15.0  # seconds without a frame in a running game before asking GET_GAME_STATUS
REQUEST_TIMEOUT = 20.0  # seconds to wait for the answer to a lobby request

# Close codes after which reconnecting would be wrong (docs/protocol.md).
CLOSE_UNAUTHORIZED = 4401
CLOSE_WATCH_REFUSED = 4403
CLOSE_OPENED_ELSEWHERE = 4409
CLOSE_ROOM_CLOSED = 4410
FINAL_CLOSE_CODES = frozenset({CLOSE_UNAUTHORIZED, CLOSE_WATCH_REFUSED, CLOSE_OPENED_ELSEWHERE, CLOSE_ROOM_CLOSED})


def decode_message(text: str | bytes) -> list[dict]:
    """Return the frames of one WebSocket message: a frame object, or a batch (JSON array) of them."""
    decoded = orjson.loads(text)  # a bot decodes every message of its seat: the cheaper parser
    frames = decoded if isinstance(decoded, list) else [decoded]
    if not all(isinstance(frame, dict) and "cmd" in frame for frame in frames):
        raise ValueError(f"not a frame or a batch of frames: {str(text)[:200]}")
    return frames


def encode_command(cmd: ClientCmd | str, payload: dict | None, msg_id: int) -> str:
    return orjson.dumps({"cmd": str(cmd), "msg_id": msg_id, "payload": payload or {}}).decode()


def connect_socket(url: str, open_timeout: float):
    """Open a WebSocket the way every client here does: no proxy (local traffic), no size cap."""
    return websockets.connect(url, open_timeout=open_timeout, max_size=None, proxy=None, ping_interval=None)


class ServerError(Exception):
    """The server refused a request with an ERROR frame."""

    def __init__(self, frame: dict):
        data = frame["payload"]["data"] or {}
        self.frame = frame
        self.code = data.get("code")
        self.field = data.get("field")
        where = f" ({self.field})" if self.field else ""
        super().__init__(f"{self.code}{where}: {frame['payload']['prompt']}")


async def rematch(base_url: str, room_id: int, token: str, *, open_timeout: float = 10.0,
                  timeout: float = REQUEST_TIMEOUT) -> dict:
    """Ask for the rematch of a finished game over its game socket; return the seat: {"room", "player"}.

    `REMATCH` makes the rematch and seats this player, or — when someone asked first — is
    answered with their offer, which `JOIN_REMATCH` takes (docs/protocol.md "Rematch"). Raises
    `ServerError` when refused, `ConnectionError` when the socket does not open or closes first.
    """
    try:
        return await _rematch(base_url, room_id, token, open_timeout, timeout)
    except websockets.WebSocketException as error:  # a refused handshake, a closed socket
        raise ConnectionError(f"the game socket failed ({error})") from None


async def _rematch(base_url: str, room_id: int, token: str, open_timeout: float, timeout: float) -> dict:
    async with connect_socket(f"{base_url.rstrip('/')}/ws/rooms/{room_id}/", open_timeout) as ws:
        sent = 0

        async def send(cmd: ClientCmd, payload: dict | None = None) -> int:
            nonlocal sent
            sent += 1
            await ws.send(encode_command(cmd, payload, sent))
            return sent

        await send(ClientCmd.HELLO, {"token": token})
        asked = await send(ClientCmd.REMATCH)
        async with asyncio.timeout(timeout):
            while True:
                for frame in decode_message(await ws.recv()):
                    if frame["cmd"] == ServerCmd.ERROR and frame["reply_to"] in (1, asked):
                        raise ServerError(frame)
                    if frame["cmd"] == ServerCmd.REMATCH_OFFER and frame["reply_to"] == asked:
                        asked = await send(ClientCmd.JOIN_REMATCH)
                    elif frame["cmd"] == ServerCmd.JOIN_ROOM_REP:
                        return frame["payload"]["data"]


# --- The lobby ----------------------------------------------------------------------------


async def _ended(reader) -> None:
    """Wait for a reader task to end, cancelled or not — but let our own cancellation through:
    swallowing it would let a cancelled owner (a load bot) carry on as if nothing had happened."""
    try:
        await reader
    except asyncio.CancelledError:
        if asyncio.current_task().cancelling():
            raise


class LobbyClient:
    """One lobby connection. Use as `async with LobbyClient("ws://host:port") as lobby:`."""

    def __init__(self, base_url: str, *, open_timeout: float = 10.0, push_limit: int = 100):
        self.url = f"{base_url.rstrip('/')}/ws/lobby/"
        self.open_timeout = open_timeout
        self.pushes: asyncio.Queue[dict] = asyncio.Queue()
        self.push_limit = push_limit  # older pushes are dropped: ROOMS_CHANGED only matters when fresh
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._waiting: dict[int, asyncio.Future] = {}
        self._msg_ids = 0

    async def connect(self) -> "LobbyClient":
        self._ws = await connect_socket(self.url, self.open_timeout)
        self._reader = asyncio.create_task(self._read())
        return self

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(Exception):  # its failure already showed as a closed connection
                await _ended(self._reader)
        if self._ws is not None:
            await self._ws.close()

    async def __aenter__(self) -> "LobbyClient":
        return await self.connect()

    async def wait_closed(self) -> None:
        """Return once the connection has ended (the server closed it or went away, or `close()`)."""
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await _ended(asyncio.shield(self._reader))

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                for frame in decode_message(message):
                    waiter = self._waiting.pop(frame["reply_to"], None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(frame)
                    elif frame["reply_to"] is None:
                        if self.pushes.qsize() >= self.push_limit:
                            self.pushes.get_nowait()
                        self.pushes.put_nowait(frame)
        except websockets.ConnectionClosed:
            return  # the lobby socket is gone: wait_closed() tells its owner
        finally:
            for waiter in self._waiting.values():
                if not waiter.done():
                    waiter.set_exception(ConnectionError("the lobby connection closed"))

    async def request(self, cmd: ClientCmd, payload: dict | None = None, timeout: float = REQUEST_TIMEOUT) -> dict:
        """Send `cmd` and return the frame answering it; an ERROR answer raises `ServerError`."""
        self._msg_ids += 1
        msg_id = self._msg_ids
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[msg_id] = waiter
        await self._ws.send(encode_command(cmd, payload, msg_id))
        try:
            frame = await asyncio.wait_for(waiter, timeout)
        finally:
            self._waiting.pop(msg_id, None)
        if frame["cmd"] == ServerCmd.ERROR:
            raise ServerError(frame)
        return frame

    async def get_rooms(self, search: str | None = None) -> dict:
        """Return the listing: {"rooms", "drafts", …}."""
        payload = {} if search is None else {"search": search}
        return (await self.request(ClientCmd.GET_ROOMS, payload))["payload"]["data"]

    async def create_room(self, name: str, players: int, user_name: str, computers: int = 0, **extra) -> dict:
        """Create a room and sit in seat 0; return {"room", "player"} (the player holds the token)."""
        payload = {"room_name": name, "num_of_players": players, "user_name": user_name, "computers": computers,
                   **extra}
        return (await self.request(ClientCmd.CREATE_A_ROOM, payload))["payload"]["data"]

    async def join_room(self, room_id: int, user_name: str) -> dict:
        """Take the lowest free seat of a room; return {"room", "player"}."""
        payload = {"room_id": room_id, "user_name": user_name}
        return (await self.request(ClientCmd.JOIN_ROOM, payload))["payload"]["data"]

    async def start_draft(self) -> int:
        return (await self.request(ClientCmd.START_ROOM_DRAFT))["payload"]["data"]["draft_id"]

    async def cancel_draft(self, draft_id: int) -> None:
        await self.request(ClientCmd.CANCEL_ROOM_DRAFT, {"draft_id": draft_id})

    async def wait_for_draft(self, draft_id: int) -> None:
        """Register as a waiter; the outcome arrives later as a push (DRAFT_RESOLVED or DRAFT_CANCELLED)."""
        await self.request(ClientCmd.WAIT_FOR_DRAFT, {"draft_id": draft_id})

    async def next_push(self, timeout: float | None = None) -> dict:
        """Return the oldest pushed frame not yet read (waiting up to `timeout` s for one)."""
        return await asyncio.wait_for(self.pushes.get(), timeout)

    async def pushed(self):
        """Yield the pushed frames not yet read, oldest first, as they come, until the connection ends."""
        ended = asyncio.ensure_future(self.wait_closed())
        try:
            while True:
                if not self.pushes.empty():
                    yield self.pushes.get_nowait()
                    continue
                pushed = asyncio.ensure_future(self.pushes.get())
                await asyncio.wait({pushed, ended}, return_when=asyncio.FIRST_COMPLETED)
                if not pushed.done():
                    pushed.cancel()
                    return
                yield pushed.result()
        finally:
            ended.cancel()


# --- One seat's game, from frames alone -------------------------------------------------------


class SeatState:
    """What a seat knows of its game. `accept(frame)` applies one frame, in arrival order.

    msg_ids (docs/protocol.md "Message ids"): numbered frames must follow one another; a
    snapshot (RESUME, GAME_STATUS, PLAYER_STATE) sets the count without adding 1, and frames
    at or below the count are already known (duplicates are dropped). After a gap the
    state asks for `GET_GAME_STATUS` (in `outbox`) and holds numbered frames until the
    snapshot comes; held frames newer than the snapshot are then applied.
    """

    def __init__(self):
        self.seat: int | None = None
        self.last_msg_id = 0
        self.hand: list[int] = []
        self.top_card: dict | None = None
        self.prompt: dict | None = None  # {"msg_id", "payload"}: the seat's pending prompt
        self.answered: int | None = None  # msg_id of the prompt answered last
        self.view: dict | None = None  # the last snapshot's data
        self.over: dict | None = None  # GAME_OVER data
        self.begun = False
        self.gaps = 0
        self.resyncing = False
        self.errors: list[dict] = []
        self.outbox: list[tuple[ClientCmd, dict]] = []
        self._held: list[dict] = []

    @property
    def top_card_id(self) -> int | None:
        return None if self.top_card is None else self.top_card["id"]

    @property
    def current_prompt(self) -> dict | None:
        """The prompt to answer now: pending, not yet answered, and the state in sync."""
        if self.prompt is None or self.resyncing or self.over is not None or self.prompt["msg_id"] == self.answered:
            return None
        return self.prompt

    @property
    def playing(self) -> bool:
        return self.begun and self.over is None

    def request_status(self) -> None:
        """Ask for a snapshot (once until it comes): after a gap, or when a running game went silent."""
        self.resyncing = True
        if (ClientCmd.GET_GAME_STATUS, {}) not in self.outbox:
            self.outbox.append((ClientCmd.GET_GAME_STATUS, {}))

    def accept(self, frame: dict) -> list[dict]:
        """Apply one frame; return the frames now applied, in order (none, it, or it and held ones)."""
        msg_id = frame["msg_id"]
        if msg_id is None:
            self._apply(frame)
            return [frame]
        if frame["cmd"] in SNAPSHOTS:
            self.resyncing = False
            self.last_msg_id = msg_id
            self._apply(frame)
            held, self._held = sorted(self._held, key=lambda f: f["msg_id"]), []
            applied = [frame]
            for later in held:
                applied += self.accept(later)
            return applied
        if msg_id <= self.last_msg_id:
            return []  # already counted in a snapshot, or a duplicate
        if self.resyncing:
            self._held.append(frame)
            return []
        if msg_id != self.last_msg_id + 1:
            self.gaps += 1
            self._held.append(frame)
            self.request_status()
            return []
        self.last_msg_id = msg_id
        self._apply(frame)
        return [frame]

    def _apply(self, frame: dict) -> None:
        cmd, payload = frame["cmd"], frame["payload"]
        data = payload["data"]
        if payload.get("top_card") is not None:
            self.top_card = payload["top_card"]
        if cmd == ServerCmd.CONNECTED:
            self.seat = data["player"]["seat"]
        elif cmd == ServerCmd.ERROR:
            self.errors.append(frame)
        elif cmd == ServerCmd.GAME_BEGIN or cmd in SNAPSHOTS:
            self.begun = True
            self.view = data
            self.seat = data["you"]["seat"]
            self.hand = sorted(card["id"] for card in data["you"]["hand"])
            self.top_card = data["top_card"]
            self.prompt = data["prompt"]
            self.answered = None
        elif cmd == ServerCmd.GAME_MESSAGE_REP and payload["flag"] == Flag.USER_INPUT_CONTINUE:
            self.prompt = {"msg_id": frame["msg_id"], "payload": payload}
        elif cmd == ServerCmd.GAME_MESSAGE_REP:  # a draw notice: extra_data holds the cards drawn
            self.hand = sorted(self.hand + [card["id"] for card in payload["extra_data"] or []])
        elif cmd == ServerCmd.GAME_EVENT and data.get("seat") == self.seat:
            self._own_event(data)
        elif cmd == ServerCmd.GAME_OVER:
            self.over = data
            self.prompt = None

    def _own_event(self, event: dict) -> None:
        """Cards leave the hand through the seat's own public events; `drew` adds nothing (the notice did)."""
        name = event["event"]
        if name in ("played", "discarded"):
            gone = {card["id"] for card in event["cards"]}
        elif name in ("gave", "lost_special"):
            gone = {event["card"]["id"]}
        else:
            return
        self.hand = [card for card in self.hand if card not in gone]


# --- One seat's connection --------------------------------------------------------------------


class SeatClient:
    """A seat's game connection: HELLO, frames into `state`, resyncs, reconnects, answer timing.

    `run()` (or `async with`, which runs it in a task) reads until the game is over
    (`until_over`), `stop()` is called, or the server closes for good (4401 unauthorized,
    4409 opened elsewhere, 4410 room closed: `final_close` holds the code). Hooks:
    `on_frame(frame)` for every frame applied, in order; `on_answer(latency_s, error)` once per
    answer: the time from sending it to the first message bringing a numbered frame newer
    than the answered prompt (or the ERROR refusing it, passed as `error`).
    """

    def __init__(self, base_url: str, room_id: int, token: str, *, batch: bool = True, until_over: bool = True,
                 on_frame: Callable[[dict], None] | None = None,
                 on_answer: Callable[[float, dict | None], None] | None = None,
                 silence: float = SILENCE_RESYNC, open_timeout: float = 10.0,
                 backoff: tuple[float, float] = (0.5, 10.0), max_attempts: int | None = 8):
        self.url = f"{base_url.rstrip('/')}/ws/rooms/{room_id}/"
        self.room_id = room_id
        self.token = token
        self.batch = batch
        self.until_over = until_over
        self.on_frame = on_frame
        self.on_answer = on_answer
        self.silence = silence
        self.open_timeout = open_timeout
        self.backoff = backoff
        self.max_attempts = max_attempts  # consecutive failed connection attempts before giving up
        self.state = SeatState()
        self.connected = asyncio.Event()  # set from CONNECTED until the socket closes
        self.final_close: int | None = None
        self.connect_failures = 0
        self.reconnects = 0
        self.status_requests = 0
        self._ws = None
        self._msg_ids = 0
        self._stopping = False
        self._changed = asyncio.Condition()
        self._answer_sent: tuple[int, int, float] | None = None  # (our msg_id, prompt msg_id, sent at)
        self._task: asyncio.Task | None = None

    # life cycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> "SeatClient":
        self._task = asyncio.create_task(self.run())
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()
        if self._task is not None:
            await _ended(self._task)

    @property
    def finished(self) -> bool:
        return self._stopping or self.final_close is not None or (self.until_over and self.state.over is not None)

    async def stop(self) -> None:
        self._stopping = True
        if self._ws is not None:
            await self._ws.close()
        await self._notify()

    async def run(self) -> None:
        """Connect and read until finished, reconnecting with exponential backoff and jitter."""
        delay, failures = self.backoff[0], 0
        while not self.finished:
            opened = False
            try:
                async with connect_socket(self.url, self.open_timeout) as ws:
                    opened = True
                    self._ws = ws
                    await self._send(ClientCmd.HELLO, self._hello_payload())
                    await self._read(ws)
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else None
                if code in FINAL_CLOSE_CODES:
                    self.final_close = code
            except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake, websockets.InvalidURI):
                if not opened:
                    self.connect_failures += 1
            finally:
                self._ws = None
                self.connected.clear()
            if self.finished:
                break
            if opened:
                delay, failures = self.backoff[0], 0
            else:
                failures += 1
                if self.max_attempts is not None and failures >= self.max_attempts:
                    break
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.backoff[1])
            self.reconnects += 1
        self._stopping = True
        await self._notify()

    def _hello_payload(self) -> dict:
        payload = {"token": self.token, "last_msg_id": self.state.last_msg_id}
        if self.batch:
            payload["batch"] = True
        return payload

    async def _read(self, ws) -> None:
        while not self.finished:
            try:
                # Not asyncio.wait_for: it makes a task of every receive (a tenth of the load
                # generator's CPU at 5,000 bots: bench/README.md, twenty-second session).
                async with asyncio.timeout(self.silence):
                    message = await ws.recv()
            except TimeoutError:
                if self.state.playing:
                    self.state.request_status()
                    await self._flush()
                continue
            await self.receive_message(message, time.perf_counter())
        await ws.close()

    async def receive_message(self, message: str | bytes, arrived: float | None = None) -> list[dict]:
        """Apply one WebSocket message (a frame or a batch); send what the state asks; wake waiters."""
        arrived = time.perf_counter() if arrived is None else arrived
        frames = decode_message(message)
        self._time_answer(frames, arrived)
        applied = []
        for frame in frames:
            applied += self.state.accept(frame)
        for frame in applied:
            if frame["cmd"] == ServerCmd.CONNECTED:
                self.connected.set()
            elif frame["cmd"] == ServerCmd.LEAVE_REP:
                self._stopping = True  # the seat is no longer ours: the server closes, we do not come back
            if self.on_frame is not None:
                self.on_frame(frame)
        await self._flush()
        await self._notify()
        return applied

    def _time_answer(self, frames: list[dict], arrived: float) -> None:
        if self._answer_sent is None:
            return
        our_id, prompt_id, sent = self._answer_sent
        for frame in frames:
            refused = frame["cmd"] == ServerCmd.ERROR and frame["reply_to"] == our_id
            if refused or (frame["msg_id"] is not None and frame["msg_id"] > prompt_id):
                self._answer_sent = None
                if self.on_answer is not None:
                    self.on_answer(arrived - sent, frame if refused else None)
                return

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # sending ------------------------------------------------------------------------------

    async def _send(self, cmd: ClientCmd, payload: dict | None = None) -> int:
        self._msg_ids += 1
        if self._ws is None:
            raise ConnectionError("not connected")
        await self._ws.send(encode_command(cmd, payload, self._msg_ids))
        return self._msg_ids

    async def _flush(self) -> None:
        """Send the requests the state queued (a resync's GET_GAME_STATUS) while a socket is open."""
        while self.state.outbox and self._ws is not None:
            cmd, payload = self.state.outbox.pop(0)
            if cmd == ClientCmd.GET_GAME_STATUS:
                self.status_requests += 1
            with contextlib.suppress(websockets.ConnectionClosed):
                await self._send(cmd, payload)

    async def send(self, cmd: ClientCmd, payload: dict | None = None) -> int:
        """Send any game command (CHAT, LEAVE_REQUEST, …); return its msg_id."""
        return await self._send(cmd, payload)

    async def answer(self, data, prompt: dict | None = None) -> int:
        """Answer `prompt` (default: the current one) with `data`: GAME_MESSAGE {"reply_to", "data"}."""
        prompt = prompt or self.state.current_prompt
        if prompt is None:
            raise RuntimeError("no prompt to answer")
        self.state.answered = prompt["msg_id"]
        msg_id = await self._send(ClientCmd.GAME_MESSAGE, {"reply_to": prompt["msg_id"], "data": data})
        self._answer_sent = (msg_id, prompt["msg_id"], time.perf_counter())
        return msg_id

    # waiting ------------------------------------------------------------------------------

    async def next_prompt(self) -> dict | None:
        """Wait for a prompt to answer and return it; None once the client is finished."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.state.current_prompt is not None or self.finished)
        return None if self.finished else self.state.current_prompt

    async def wait_for(self, predicate: Callable[[], bool], timeout: float | None = None) -> None:
        """Wait until `predicate()` holds (checked after every message) or the client is finished."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate() or self.finished), timeout)


def is_stale_answer(error: dict | None) -> bool:
    """An answer refused as STALE_PROMPT changed nothing (docs/protocol.md: a resent answer is harmless)."""
    return error is not None and (error["payload"]["data"] or {}).get("code") == ErrorCode.STALE_PROMPT
