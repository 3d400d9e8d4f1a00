"""Spectator clients for the tests: every frame is checked against the protocol schema, and the
spectator stream's numbering (no gap, no repeat, snapshots without a number of their own)."""

from __future__ import annotations

import json

from lobby_site.wire import check_frame
from tests.game.helpers import TIMEOUT, card_objects

NUMBERED = ("GAME_EVENT", "GAME_OVER")


class WatchState:
    """What a spectator has been told: every frame, and the stream's last msg_id."""

    def __init__(self):
        self.frames: list[dict] = []
        self.last = 0
        self.snapshots = 0
        self.over: dict | None = None
        self.messages = 0  # WebSocket messages (a batch is one)

    def apply_text(self, text: str) -> list[dict]:
        """Check and apply one WebSocket message (a frame, or a batch of frames); return its frames."""
        self.messages += 1
        decoded = json.loads(text)
        frames = decoded if isinstance(decoded, list) else [decoded]
        for message in frames:
            check_frame(message)
            self._apply(message)
        return frames

    def _apply(self, message: dict) -> None:
        cmd, msg_id = message["cmd"], message["msg_id"]
        assert cmd not in ("GAME_MESSAGE_REP", "GAME_BEGIN", "RESUME", "GAME_STATUS", "PLAYER_STATE",
                           "CONNECTED"), f"a spectator got {cmd}"
        if cmd in ("ROOMMATES", "ERROR"):
            assert msg_id is None
        elif cmd == "WATCH_MOVED":  # a following socket now watches the rematch: its own numbering
            assert msg_id is None and self.over is not None, "moved before the game watched was over"
            self.last, self.over = 0, None
        elif cmd == "WATCHING":
            assert msg_id >= self.last, (msg_id, self.last)
            self.last = msg_id
            self.snapshots += 1
        elif cmd == "WATCH_STATUS":
            # It carries the stream's latest number as it was read, which may be behind frames
            # already received (a status read before frames in flight arrive): no order to check.
            assert isinstance(msg_id, int)
        else:
            assert cmd in NUMBERED, message
            assert msg_id == self.last + 1, f"spectator msg_id {msg_id} after {self.last}"
            self.last = msg_id
        if cmd == "GAME_OVER":
            self.over = message["payload"]["data"]
        self.frames.append(message)


def hand_leaks(frames: list[dict], hands_at) -> list[tuple]:
    """Return (frame, card) for every card object in a spectator frame that a hand held at that moment.

    `hands_at(frame)` returns the hands (sets of card ids) as they stood when that frame was sent.
    """
    leaks = []
    for message in frames:
        hands = hands_at(message)
        for card in card_objects(message):
            if any(card["id"] in hand for hand in hands):
                leaks.append((message, card))
    return leaks


class WatchCommunicator(WatchState):
    """A spectator over channels' WebsocketCommunicator (the real consumer, database and layer)."""

    def __init__(self, room_id: int, query: str = ""):
        from channels.routing import URLRouter
        from channels.testing import WebsocketCommunicator

        from lobby_site.routing import websocket_urlpatterns

        super().__init__()
        self.communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns),
                                                  f"/ws/rooms/{room_id}/watch/{query}")
        self.closed = False
        self.close_code = None
        self.unread: list[dict] = []

    async def connect(self) -> "WatchCommunicator":
        connected, _ = await self.communicator.connect(timeout=TIMEOUT)
        assert connected
        return self

    async def receive(self, timeout: float = TIMEOUT) -> list[dict]:
        """Return the frames of the next message (or those `receive_frame` left of the last one);
        raise ConnectionError on a close."""
        if self.unread:
            frames, self.unread = self.unread, []
            return frames
        if await self.communicator.receive_nothing(timeout, interval=0.005):
            raise TimeoutError(f"nothing arrived in {timeout} s")
        output = await self.communicator.receive_output(TIMEOUT)
        if output["type"] == "websocket.close":
            self.closed, self.close_code = True, output.get("code")
            raise ConnectionError(f"closed with {output.get('code')}")
        return self.apply_text(output["text"])

    async def receive_frame(self, cmd: str, timeout: float = TIMEOUT) -> dict:
        """Read until a frame `cmd` arrives; return it."""
        while True:
            frames = await self.receive(timeout)
            for index, message in enumerate(frames):
                if message["cmd"] == cmd:
                    self.unread = frames[index + 1:]  # a batch's later frames, for the next read
                    return message

    async def send(self, cmd: str, payload=None, msg_id: int = 1) -> None:
        await self.communicator.send_to(text_data=json.dumps({"cmd": cmd, "msg_id": msg_id, "payload": payload or {}}))

    async def until_over(self, timeout: float = TIMEOUT) -> dict:
        while self.over is None:
            await self.receive(timeout)
        return self.over

    async def quiet(self, seconds: float = 0.3) -> None:
        assert await self.communicator.receive_nothing(seconds), "unexpected frame"

    async def close(self) -> None:
        if self.communicator.future.done():
            if not self.communicator.future.cancelled():
                self.communicator.future.result()
            return
        await self.communicator.disconnect(timeout=TIMEOUT)
