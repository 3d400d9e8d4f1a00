"""Ten thousand generated frames against a real daphne (docs/security.md "Fuzzing").

Hypothesis builds frames — valid envelopes carrying hostile payloads (wrong types, deep
nesting, lone surrogates, format characters, look-alike names, huge numbers, NaN), raw
text junk, binary frames and oversized frames — and sends 5,000 to a lobby socket and
5,000 to a game socket after a good HELLO. The rate limit is raised so that the frames
reach the handlers (the test counts how many did). After every frame a probe (an unknown
command with a msg_id no generated frame uses) marks where its answers end, so each frame
is held to: an ERROR, a reply, or a close with a code — never silence (except a move or a
chat that succeeded, whose answer is the events it sets off), never 1006 or 1011. At the
end the server log holds no traceback and the database changed only by the commands the
server acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from lobby_site.wire import GAME_CMDS, LOBBY_CMDS, ClientCmd, check_frame
from tests.game.servers import lobby_request

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

FRAMES_PER_SOCKET = 5000
PER_EXAMPLE = 50
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
PROBE_BASE = 10 ** 12  # generated msg_ids stay far below
FRAME_ERRORS = {"TOO_LARGE", "BAD_JSON", "BAD_MESSAGE", "UNKNOWN_CMD", "RATE_LIMITED"}
TIMEOUT = 20

KEYS = ["reply_to", "data", "cards", "last_card", "text", "token", "resume_code", "last_msg_id", "room_id",
        "user_name", "room_name", "num_of_players", "computers", "draft_id", "kind", "level", "search"]
ODD_TEXT = ["", " ", "\x00", "\x07", "\u202e", "\u200b", "null", "Computer 1", "Сarol", "ｃａｒｏｌ", "c\u0301arol",
            "x" * 300, "'; DROP TABLE rooms_room; --", "<script>alert(1)</script>", "cup", "red", "𝒸𝒶𝓇ℴ𝓁"]

lone_surrogate = st.integers(0xD800, 0xDFFF).map(chr)
hostile_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(ODD_TEXT),
    st.tuples(st.text(max_size=4), lone_surrogate, st.text(max_size=4)).map("".join),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Mn", "Zs", "Co"]), max_size=8),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.integers(-3, 130),
                    st.floats(), hostile_text)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5),
    st.dictionaries(st.one_of(st.sampled_from(KEYS), hostile_text), inner, max_size=5)), max_leaves=15)
msg_ids = st.one_of(st.none(), st.integers(-5, 10 ** 6), st.sampled_from(["7", 1.5, True, [], {}]))


def envelopes(cmds: list[str], well_formed: bool):
    """Envelopes: well-formed ones (a known command, an object payload) carry hostile values;
    the others get wrong commands, ids and payloads too."""
    if well_formed:
        cmd, payload = st.sampled_from(cmds), st.dictionaries(st.sampled_from(KEYS), values, max_size=6)
    else:
        cmd = st.one_of(st.sampled_from(cmds), st.sampled_from(["NOPE", "", "hello", "GET_ROOMS_REP"]), scalars)
        payload = st.one_of(st.dictionaries(st.sampled_from(KEYS), values, max_size=6), values)
    return st.builds(
        lambda cmd, msg_id, body, drop: json.dumps({k: v for k, v in {"cmd": cmd, "msg_id": msg_id,
                                                                      "payload": body}.items() if k not in drop}),
        cmd, msg_ids, payload, st.sets(st.sampled_from(["msg_id", "payload"]), max_size=1 if well_formed else 2))


def deep(n: int) -> str:
    return "[" * n + "]" * n


def frames(cmds: list[str]):
    """Mostly envelopes with hostile payloads; some raw junk, binary, deep and oversized frames."""
    kinds = [
        *[envelopes(cmds, True)] * 14,  # sampled evenly: repeating a kind weighs it
        envelopes(cmds, False), envelopes(cmds, False),
        st.text(max_size=100),
        st.binary(max_size=64),
        st.integers(1, 5000).map(deep),
        st.integers(16 * 1024 + 1, 96 * 1024).map(lambda n: json.dumps({"cmd": "CHAT", "payload": {"text": "x" * n}})),
    ]
    return st.sampled_from(kinds).flatmap(lambda kind: kind)


@dataclass
class Tally:
    sent: int = 0
    answers: Counter = field(default_factory=Counter)  # first answer's cmd or error code
    silent_successes: int = 0
    events: int = 0  # GAME_EVENT frames seen
    prompts: int = 0
    closes: list = field(default_factory=list)
    replies: dict = field(default_factory=Counter)  # reply cmds that mean a change (rooms, players, drafts)
    drafts: set = field(default_factory=set)
    seated: int = 0

    def reached_handlers(self) -> int:
        return self.sent - sum(self.answers[code] for code in FRAME_ERRORS)


class Socket:
    """One WebSocket; `exchange` sends a frame and the probe, and returns what came before the probe's answer."""

    def __init__(self, url: str, tally: Tally, hello: str | None = None):
        self.url, self.tally, self.hello = url, tally, hello
        self.probe = PROBE_BASE
        self.open()

    def open(self) -> None:
        self.ws = connect(self.url, open_timeout=TIMEOUT, max_size=None, proxy=None).__enter__()
        if self.hello:
            self.ws.send(json.dumps({"cmd": "HELLO", "payload": {"token": self.hello}}))
            while self.read()["cmd"] != "CONNECTED":
                continue  # frames before CONNECTED are not the fuzz's

    def read(self) -> dict:
        message = json.loads(self.ws.recv(TIMEOUT))
        check_frame(message)
        if message["cmd"] == "GAME_EVENT":
            self.tally.events += 1
        elif message["cmd"] == "GAME_MESSAGE_REP":
            self.tally.prompts += 1
        return message

    def exchange(self, raw: str | bytes) -> list[dict] | int:
        return self.exchange_all([raw])[0]

    def exchange_all(self, batch: list) -> list:
        """Send every frame followed by its probe, all at once (the server answers a socket's
        frames in order), then split what comes back at the probes' answers."""
        first = self.probe + 1
        results, answers = [], []
        try:
            for raw in batch:
                self.probe += 1
                self.ws.send(raw)
                self.ws.send(json.dumps({"cmd": "PROBE", "msg_id": self.probe}))
            while len(results) < len(batch):
                message = self.read()
                if message["cmd"] == "ERROR" and message["reply_to"] == first + len(results):
                    results.append(answers)
                    answers = []
                else:
                    answers.append(message)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else 1006
            self.open()
            results += [code] * (len(batch) - len(results))
        return results

    def close(self) -> None:
        self.ws.close()


def answered(raw, result, tally: Tally, game: bool) -> None:
    """Hold one frame's outcome to the rule and count it."""
    tally.sent += 1
    if isinstance(result, int):
        tally.closes.append(result)
        assert result not in (1006, 1011), f"{raw[:200]!r} closed the socket with {result}"
        return
    # Pushes that a frame may set off but that do not answer it (ROOMMATES always answers:
    # its periodic push is slowed to once a minute here, and the game has begun).
    direct = [m for m in result if m["cmd"] not in ("ROOMS_CHANGED", "GAME_EVENT", "GAME_MESSAGE_REP")
              or m["reply_to"] is not None]
    if direct:
        first = direct[0]
        tally.answers[first["payload"]["data"]["code"] if first["cmd"] == "ERROR" else first["cmd"]] += 1
        for message in direct:
            tally.replies[message["cmd"]] += 1
            data = message["payload"]["data"]
            if message["cmd"] == "CREATE_A_ROOM_REP":
                tally.seated += data["room"]["seated"]
            elif message["cmd"] == "JOIN_ROOM_REP":
                tally.seated += 1
            elif message["cmd"] == "DRAFT_STARTED":
                tally.drafts.add(data["draft_id"])
        return
    # No direct answer: only a move or a chat that succeeded may be silent (its answer is events).
    command = json.loads(raw).get("cmd") if isinstance(raw, str) else None
    assert game and command in (ClientCmd.GAME_MESSAGE, ClientCmd.CHAT), f"no answer to {raw[:200]!r}"
    tally.silent_successes += 1
    tally.answers["(events)"] += 1


def run_frames(socket: Socket, strategy, tally: Tally, game: bool) -> None:
    # No shrinking: against a live server it takes minutes; the failing frame is in the message.
    @settings(max_examples=FRAMES_PER_SOCKET // PER_EXAMPLE, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(st.lists(strategy, min_size=PER_EXAMPLE, max_size=PER_EXAMPLE))
    def send_all(batch):
        for raw, result in zip(batch, socket.exchange_all(batch), strict=True):
            answered(raw, result, tally, game)

    send_all()


def counts(database_url: str) -> dict:
    """Rows of the lobby and game tables, and `events`: the public events the game log and chat table hold."""
    with psycopg.connect(database_url) as conn:
        found = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                 for table in ("rooms_room", "rooms_player", "rooms_roomdraft", "game_game")}
        found["events"] = conn.execute(
            "SELECT coalesce(sum(jsonb_array_length(events)), 0) FROM game_gamelog").fetchone()[0]
        found["events"] += conn.execute("SELECT count(*) FROM game_chatline").fetchone()[0]
        return found


def game_state(database_url: str, room_id: int) -> tuple:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT version, state::text, status FROM game_game WHERE room_id = %s",
                            (room_id,)).fetchone()


def report(name: str, tally: Tally, seconds: float) -> None:
    """Print the figures and keep them in tests/artifacts/ (git-ignored) for docs/security.md."""
    figures = {"frames": tally.sent, "past_frame_checks": tally.reached_handlers(), "seconds": round(seconds, 1),
               "answers": dict(tally.answers.most_common()), "closes": tally.closes, "events": tally.events,
               "silent_successes": tally.silent_successes}
    print(f"\n{name}: {figures}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"fuzz-{name}.json").write_text(json.dumps(figures, indent=1))


def test_fuzzed_lobby_frames(site):
    database_url, server, log = site
    before = counts(database_url)
    tally, started = Tally(), time.monotonic()
    socket = Socket(f"{server.ws_url}/ws/lobby/", tally)
    try:
        run_frames(socket, frames(sorted(str(c) for c in LOBBY_CMDS)), tally, game=False)
    finally:
        socket.close()
    report("lobby", tally, time.monotonic() - started)

    assert tally.sent == FRAMES_PER_SOCKET
    assert tally.answers["RATE_LIMITED"] == 0
    assert tally.reached_handlers() > FRAMES_PER_SOCKET / 2
    assert tally.closes == []
    after = counts(database_url)
    assert after["rooms_room"] - before["rooms_room"] == tally.replies["CREATE_A_ROOM_REP"]
    assert after["rooms_player"] - before["rooms_player"] == tally.seated
    assert after["rooms_roomdraft"] - before["rooms_roomdraft"] == len(tally.drafts)
    assert (after["game_game"], after["events"]) == (before["game_game"], before["events"])
    assert "Traceback" not in log.read_text()


def test_fuzzed_game_frames_after_a_good_hello(site):
    database_url, server, log = site
    created = asyncio.run(lobby_request(server.ws_url, "CREATE_A_ROOM", {
        "room_name": "Fuzz", "num_of_players": 2, "user_name": "Ann", "computers": 1}))
    room_id, token = created["room"]["room_id"], created["player"]["token"]
    tally, started = Tally(), time.monotonic()
    socket = Socket(f"{server.ws_url}/ws/rooms/{room_id}/", tally, hello=token)
    try:
        # Settle: the game has begun (it begins once the connection is written, just after
        # CONNECTED); before it, a LEAVE would free the seat and end the fuzz's token.
        while not any(f["cmd"] == "GAME_STATUS" for f in socket.exchange(json.dumps({"cmd": "GET_GAME_STATUS"}))):
            time.sleep(0.05)
        before, state_before, events_seen = counts(database_url), game_state(database_url, room_id), tally.events
        # Leaving and a rematch (once the game is over) are legitimate changes of their own
        # (tests/game/test_leaving.py, test_rematch.py); all else is fair game.
        cmds = sorted(str(c) for c in GAME_CMDS - {ClientCmd.LEAVE_REQUEST, ClientCmd.REMATCH})
        run_frames(socket, frames(cmds), tally, game=True)
        socket.exchange(json.dumps({"cmd": "GET_GAME_STATUS"}))
        # Read while the seat is still connected: closing is a change of its own (the other
        # seats hear `disconnected`, which this seat is never sent).
        after, state_after = counts(database_url), game_state(database_url, room_id)
    finally:
        socket.close()
    report("game", tally, time.monotonic() - started)

    assert tally.sent == FRAMES_PER_SOCKET
    assert tally.answers["RATE_LIMITED"] == 0
    assert tally.reached_handlers() > FRAMES_PER_SOCKET / 2
    assert tally.closes == []
    # Every silent frame was a move or chat that went through: each set off at least one event.
    new_events = tally.events - events_seen
    assert tally.silent_successes <= new_events
    assert after["rooms_room"] == before["rooms_room"] and after["rooms_player"] == before["rooms_player"]
    # The log grew by exactly the events this seat was sent; with none, the game is untouched.
    assert after["events"] - before["events"] == new_events
    if new_events == 0:
        assert state_after == state_before
    state = json.loads(state_after[1])
    ids = state["market"] + state["pile"] + [c for hand in state["hands"] for c in hand]
    assert sorted(ids) == list(range(120)), "R16 broken"
    assert "Traceback" not in log.read_text()
