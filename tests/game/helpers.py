"""Game-socket clients for the tests: every frame is checked against the protocol schema and
the seat's msg_id sequence, and the client keeps its hand from what it is told, so it can
answer any prompt legally and the tests can compare it with the database."""

from __future__ import annotations

import asyncio
import json

from game.engine import DECK, WIRE
from lobby_site.wire import check_frame

TIMEOUT = 20  # seconds; generous, CI is slower than a laptop
QUIET = 0.3  # seconds to listen when checking that nothing arrives
SNAPSHOTS = ("RESUME", "GAME_STATUS", "PLAYER_STATE")
UNNUMBERED = ("CONNECTED", "ROOMMATES", "ERROR", "REMATCH_OFFER", "JOIN_ROOM_REP")


class Silence(Exception):
    """Nothing arrived in time."""


def answer_for(payload: dict, hand: list[int]):
    """Return a legal answer `data` for a prompt payload, given the seat's hand."""
    kind, options = payload["data"]["kind"], payload["extra_data"]
    if kind == "turn":
        # A card that can start a legal play is a legal single play on its own (R8a, R10).
        return {"cards": options[:1], "last_card": True}
    if kind == "name":
        return options[0]
    if kind == "give":
        return {"cards": options[:1]}
    return {"cards": sorted(hand)[:payload["data"]["count"]], "last_card": True}


def card_objects(value):
    """Yield every card object (a dict shaped like a wire card) anywhere inside `value`."""
    if isinstance(value, dict):
        if value.get("kind") in ("normal", "special") and "id" in value:
            yield value
        for item in value.values():
            yield from card_objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from card_objects(item)


class SeatClient:
    """One game connection of one seat. Subclasses provide `_send_text`, `_recv_text`, `_close`."""

    def __init__(self, token: str, seat: int | None = None):
        self.token = token
        self.seat = seat
        self.frames: list[dict] = []  # every frame received, in order
        self.last_msg_id = 0
        self.snapshot_msg_id = 0  # frames up to this msg_id are already in the last snapshot
        self.hand: list[int] = []
        self.prompt: dict | None = None  # the pending prompt {"msg_id", "payload"}
        self.client_msg_id = 0
        self.over: dict | None = None  # GAME_OVER data
        self.errors: list[dict] = []

    # transport ---------------------------------------------------------------------------

    async def _send_text(self, text: str) -> None:
        raise NotImplementedError

    async def _recv_text(self, timeout: float) -> str:
        raise NotImplementedError

    # frames ------------------------------------------------------------------------------

    async def send(self, cmd: str, payload=None, msg_id: int | None = None) -> int:
        self.client_msg_id += 1
        message = {"cmd": cmd, "msg_id": self.client_msg_id if msg_id is None else msg_id}
        if payload is not None:
            message["payload"] = payload
        await self._send_text(json.dumps(message))
        return message["msg_id"]

    async def receive(self, timeout: float = TIMEOUT) -> dict | None:
        """Return the next new frame (duplicates of a snapshot are skipped), checked and applied."""
        while True:
            message = json.loads(await self._recv_text(timeout))
            check_frame(message)
            if self._apply(message):
                return message

    def _apply(self, message: dict) -> bool:
        cmd, msg_id, payload = message["cmd"], message["msg_id"], message["payload"]
        if cmd in UNNUMBERED or (cmd == "LEAVE_REP" and msg_id is None):  # a LEAVE_REP before the game
            assert msg_id is None, message
        elif cmd in SNAPSHOTS:
            assert msg_id >= self.last_msg_id or cmd != "GAME_STATUS", (msg_id, self.last_msg_id)
            self.last_msg_id = self.snapshot_msg_id = msg_id
        else:
            if msg_id <= self.snapshot_msg_id:
                return False  # committed between joining the group and the snapshot: already in it
            assert msg_id == self.last_msg_id + 1, f"seat {self.seat}: msg_id {msg_id} after {self.last_msg_id}"
            self.last_msg_id = msg_id
            assert payload["top_card"] is not None, message
        self.frames.append(message)
        data = payload["data"]
        if cmd == "ERROR":
            self.errors.append(message)
        elif cmd == "CONNECTED":
            self.seat = data["player"]["seat"]
        elif cmd in ("GAME_BEGIN", *SNAPSHOTS):
            self.hand = [c["id"] for c in data["you"]["hand"]]
            self.prompt = data["prompt"]
        elif cmd == "GAME_MESSAGE_REP" and payload["flag"] == "GAME_CONTINUE":
            self.hand.extend(c["id"] for c in payload["extra_data"])
        elif cmd == "GAME_MESSAGE_REP":
            self.prompt = {"msg_id": msg_id, "payload": payload}
        elif cmd == "GAME_EVENT" and data.get("seat") == self.seat:
            for card in data.get("cards", []) if data["event"] != "drew" else []:
                self.hand.remove(card["id"])
            if data["event"] in ("gave", "lost_special"):
                self.hand.remove(data["card"]["id"])
        elif cmd == "GAME_OVER":
            self.over = data
            self.prompt = None
        return True

    async def expect(self, cmd: str, timeout: float = TIMEOUT) -> dict:
        message = await self.receive(timeout)
        assert message["cmd"] == cmd, f"expected {cmd}, got {message}"
        return message

    async def skip_to(self, cmd: str, timeout: float = TIMEOUT, skip=("ROOMMATES",)) -> dict:
        """Return the next `cmd` frame, passing over frames whose cmd is in `skip`."""
        while True:
            message = await self.receive(timeout)
            if message["cmd"] == cmd:
                return message
            assert message["cmd"] in skip, f"expected {cmd}, got {message}"

    async def quiet(self, seconds: float = QUIET) -> None:
        """Assert that no frame arrives for `seconds`."""
        try:
            message = await self.receive(seconds)
        except (Silence, asyncio.TimeoutError, TimeoutError):
            return
        raise AssertionError(f"unexpected frame {message}")

    async def drain(self, seconds: float = QUIET) -> None:
        """Read (and check) every frame until none arrives for `seconds`."""
        while True:
            try:
                await self.receive(seconds)
            except (Silence, TimeoutError):
                return

    async def hello(self, **extra) -> dict:
        await self.send("HELLO", {"token": self.token, **extra})
        return await self.expect("CONNECTED")

    async def answer(self, data=None, reply_to: int | None = None) -> int:
        """Answer the pending prompt (legally unless `data` is given)."""
        prompt = self.prompt
        if data is None:
            data = answer_for(prompt["payload"], self.hand)
        self.prompt = None
        return await self.send("GAME_MESSAGE", {"reply_to": prompt["msg_id"] if reply_to is None else reply_to,
                                                "data": data})

    async def request(self, cmd: str, payload=None, expect: str | None = None) -> dict:
        """Send `cmd` and return the first frame that replies to it."""
        msg_id = await self.send(cmd, payload)
        while True:
            message = await self.receive()
            if message["reply_to"] == msg_id:
                assert expect is None or message["cmd"] == expect, message
                return message

    async def play_until_over(self, on_answer=None, timeout: float = TIMEOUT) -> dict:
        """Answer every prompt legally until GAME_OVER; return its data. No ERROR may arrive."""
        if self.prompt is not None:
            await self._answer_logged(on_answer)
        while self.over is None:
            message = await self.receive(timeout)
            assert message["cmd"] != "ERROR", message
            if message["cmd"] == "GAME_MESSAGE_REP" and message["payload"]["flag"] == "USER_INPUT_CONTINUE":
                await self._answer_logged(on_answer)
        return self.over

    async def _answer_logged(self, on_answer) -> None:
        payload = self.prompt["payload"]
        data = answer_for(payload, self.hand)
        if on_answer is not None:
            on_answer(self.seat, payload["data"]["kind"], data)
        await self.answer(data)


class CommunicatorClient(SeatClient):
    """A seat over channels' WebsocketCommunicator (in-process, real consumer and database)."""

    def __init__(self, room_id: int, token: str, seat: int | None = None):
        from channels.testing import WebsocketCommunicator

        from channels.routing import URLRouter

        from lobby_site.routing import websocket_urlpatterns

        super().__init__(token, seat)
        self.communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/rooms/{room_id}/")
        self.closed = False

    async def connect(self) -> "CommunicatorClient":
        connected, _ = await self.communicator.connect(timeout=TIMEOUT)
        assert connected
        return self

    async def _send_text(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def send_raw(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def _recv_text(self, timeout: float) -> str:
        # receive_output's timeout would cancel the consumer: wait with receive_nothing first.
        if await self.communicator.receive_nothing(timeout, interval=0.005):
            raise TimeoutError(f"seat {self.seat}: nothing arrived in {timeout} s")
        output = await self.communicator.receive_output(TIMEOUT)
        if output["type"] == "websocket.close":
            raise ConnectionError(f"closed with {output.get('code')}")
        return output["text"]

    async def quiet(self, seconds: float = QUIET) -> None:
        # receive_output's timeout would cancel the consumer: receive_nothing does not.
        assert await self.communicator.receive_nothing(seconds), "unexpected frame"

    async def receive_close(self, timeout: float = TIMEOUT) -> int:
        """Return the close code of the connection, after any frames before it."""
        while True:
            output = await self.communicator.receive_output(timeout)
            if output["type"] == "websocket.close":
                self.closed = True
                return output.get("code")
            self.frames.append(json.loads(output["text"]))

    async def close(self) -> None:
        self.closed = True
        if self.communicator.future.done():
            if not self.communicator.future.cancelled():  # a test may cancel it, as daphne's kill does
                self.communicator.future.result()  # a consumer that crashed fails the test here
            return
        # Also after the server closed: daphne then tells the consumer, and so must a test.
        await self.communicator.disconnect(timeout=TIMEOUT)


class WebsocketClient(SeatClient):
    """A seat over a real WebSocket (the `websockets` package) to a running daphne."""

    def __init__(self, ws_url: str, room_id: int, token: str, seat: int | None = None):
        super().__init__(token, seat)
        self.url = f"{ws_url}/ws/rooms/{room_id}/"
        self.socket = None

    async def connect(self) -> "WebsocketClient":
        import websockets

        self.socket = await websockets.connect(self.url, open_timeout=TIMEOUT, max_size=2 ** 22)
        return self

    async def _send_text(self, text: str) -> None:
        await self.socket.send(text)

    async def _recv_text(self, timeout: float) -> str:
        try:
            return await asyncio.wait_for(self.socket.recv(), timeout)
        except asyncio.TimeoutError:
            raise Silence() from None

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
            self.socket = None


def conservation(state: dict) -> None:
    """Assert R16 on a saved state: market + pile + hands hold the 120 ids exactly once."""
    ids = state["market"] + state["pile"] + [c for hand in state["hands"] for c in hand]
    assert sorted(ids) == list(range(len(DECK))), "R16 broken"


def wire(card_id: int) -> dict:
    return WIRE[card_id]
