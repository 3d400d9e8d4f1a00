"""A lobby client over WebsocketCommunicator that checks every frame the server sends."""

from __future__ import annotations

import asyncio
import gc
import json

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from lobby_site.wire import check_frame
from rooms.consumers import LobbyConsumer
from rooms.models import Deadline, Player, Room, RoomDraft

TIMEOUT = 10  # seconds; generous, CI is slower than a laptop
QUIET = 0.3  # seconds to listen when checking that nothing arrives


def reference_cycles_left_by(function) -> int:
    """Call `function` with the cyclic garbage collector off; return how many objects it left
    that only that collector could free (reference cycles: a pause of the whole process later)."""
    gc.collect()
    gc.disable()
    try:
        function()
        return gc.collect()
    finally:
        gc.enable()


class LobbyClient:
    """One lobby connection: send commands, read frames, skip ROOMS_CHANGED pushes on request."""

    def __init__(self, address: str | None = None, headers: list | None = None):
        self.communicator = WebsocketCommunicator(LobbyConsumer.as_asgi(), "/ws/lobby/", headers=headers)
        if address is not None:  # the peer, as daphne gives it (the communicator gives none)
            self.communicator.scope["client"] = [address, 50000]
        self.last_msg_id = 0
        self.pushes: list[dict] = []  # ROOMS_CHANGED frames skipped by expect()
        self.closed = False

    async def connect(self) -> "LobbyClient":
        connected, _ = await self.communicator.connect(timeout=TIMEOUT)
        assert connected
        return self

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.communicator.disconnect(timeout=TIMEOUT)

    async def send(self, cmd: str, payload: dict | None = None) -> int:
        self.last_msg_id += 1
        message = {"cmd": cmd, "msg_id": self.last_msg_id}
        if payload is not None:
            message["payload"] = payload
        await self.communicator.send_to(text_data=json.dumps(message))
        return self.last_msg_id

    async def send_raw(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def receive(self, timeout: float = TIMEOUT) -> dict:
        message = json.loads(await self.communicator.receive_from(timeout=timeout))
        check_frame(message)
        assert message["msg_id"] is None, "lobby frames have msg_id null"
        return message

    async def expect(self, cmd: str, timeout: float = TIMEOUT) -> dict:
        """Return the next frame that is not a ROOMS_CHANGED push, which must be `cmd`."""
        while True:
            message = await self.receive(timeout)
            if message["cmd"] == "ROOMS_CHANGED" and cmd != "ROOMS_CHANGED":
                self.pushes.append(message)
                continue
            assert message["cmd"] == cmd, message
            return message

    async def request(self, cmd: str, payload: dict | None = None, expect: str | None = None) -> dict:
        """Send `cmd` and return its answer (checked to reply to it)."""
        msg_id = await self.send(cmd, payload)
        answer = await self.expect(expect or f"{cmd}_REP")
        assert answer["reply_to"] == msg_id
        return answer

    async def error(self, cmd: str, payload: dict | None = None) -> dict:
        """Send `cmd`, expect an ERROR replying to it, and return its data."""
        return (await self.request(cmd, payload, expect="ERROR"))["payload"]["data"]

    async def push_until(self, predicate, timeout: float = TIMEOUT) -> dict:
        """Return the first ROOMS_CHANGED (already skipped or new) whose data satisfies `predicate`."""
        for message in self.pushes:
            if predicate(message["payload"]["data"]):
                return message
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            message = await self.expect("ROOMS_CHANGED", timeout=max(0.01, end - loop.time()))
            self.pushes.append(message)
            if predicate(message["payload"]["data"]):
                return message

    async def assert_silent(self, timeout: float = QUIET) -> None:
        """Assert that nothing but ROOMS_CHANGED pushes arrives for `timeout` seconds."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        # receive_nothing, unlike a timed-out receive_from, leaves the application running.
        while (left := end - loop.time()) > 0:
            if await self.communicator.receive_nothing(timeout=left):
                return
            message = await self.receive()
            assert message["cmd"] == "ROOMS_CHANGED", message
            self.pushes.append(message)


def _snapshot() -> dict:
    return {model.__name__: sorted(map(repr, model.objects.values()), key=str)
            for model in (Room, Player, RoomDraft, Deadline)}


snapshot = database_sync_to_async(_snapshot)


async def wait_for(condition, timeout: float = TIMEOUT, every: float = 0.05):
    """Poll the sync `condition` (run in the database thread) until it returns something truthy."""
    check = database_sync_to_async(condition)
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert loop.time() < end, "condition not met in time"
        await asyncio.sleep(every)


def room_payload(user_name: str = "Ann", **fields) -> dict:
    return {"room_name": "Table", "num_of_players": 3, "user_name": user_name, **fields}
