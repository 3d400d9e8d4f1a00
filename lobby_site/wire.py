"""The wire protocol (docs/protocol.md): the one module that parses client frames and builds
server frames. Both consumers, the services and the tests use it, so the contract lives
in one place.

* `parse_frame` checks a raw client frame in docs/protocol.md's order (TOO_LARGE, BAD_JSON,
  BAD_MESSAGE, UNKNOWN_CMD); `RateLimiter` gives RATE_LIMITED.
* `clean_*` functions validate payloads and raise `ProtocolError(INVALID, field)`.
* `frame` builds every server frame with every envelope key present; `check_frame`
  is the schema the tests hold every frame the server sends against.
"""

from __future__ import annotations

import json
import time
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

import orjson

from lobby_site.names import has_lone_surrogate, normalise


class ClientCmd(StrEnum):
    # lobby
    GET_ROOMS = "GET_ROOMS"
    START_ROOM_DRAFT = "START_ROOM_DRAFT"
    CANCEL_ROOM_DRAFT = "CANCEL_ROOM_DRAFT"
    WAIT_FOR_DRAFT = "WAIT_FOR_DRAFT"
    CREATE_A_ROOM = "CREATE_A_ROOM"
    JOIN_ROOM = "JOIN_ROOM"
    GET_LIVE_GAMES = "GET_LIVE_GAMES"
    # game
    HELLO = "HELLO"
    GAME_MESSAGE = "GAME_MESSAGE"
    GET_ROOMMATES = "GET_ROOMMATES"
    GET_GAME_STATUS = "GET_GAME_STATUS"
    CHAT = "CHAT"
    LEAVE_REQUEST = "LEAVE_REQUEST"
    LEAVE = "LEAVE"
    ADD_COMPUTER = "ADD_COMPUTER"
    REMATCH = "REMATCH"
    JOIN_REMATCH = "JOIN_REMATCH"


LOBBY_CMDS = frozenset({ClientCmd.GET_ROOMS, ClientCmd.START_ROOM_DRAFT, ClientCmd.CANCEL_ROOM_DRAFT,
                        ClientCmd.WAIT_FOR_DRAFT, ClientCmd.CREATE_A_ROOM, ClientCmd.JOIN_ROOM,
                        ClientCmd.GET_LIVE_GAMES})
GAME_CMDS = frozenset(set(ClientCmd) - LOBBY_CMDS)


class ServerCmd(StrEnum):
    GET_ROOMS_REP = "GET_ROOMS_REP"
    ROOMS_CHANGED = "ROOMS_CHANGED"
    DRAFT_STARTED = "DRAFT_STARTED"
    DRAFT_CANCELLED = "DRAFT_CANCELLED"
    WAITING_FOR_DRAFT = "WAITING_FOR_DRAFT"
    DRAFT_RESOLVED = "DRAFT_RESOLVED"
    CREATE_A_ROOM_REP = "CREATE_A_ROOM_REP"
    JOIN_ROOM_REP = "JOIN_ROOM_REP"
    CONNECTED = "CONNECTED"
    ROOMMATES = "ROOMMATES"
    GAME_BEGIN = "GAME_BEGIN"
    GAME_EVENT = "GAME_EVENT"
    GAME_MESSAGE_REP = "GAME_MESSAGE_REP"
    RESUME = "RESUME"
    GAME_STATUS = "GAME_STATUS"
    GAME_OVER = "GAME_OVER"
    PLAYER_STATE = "PLAYER_STATE"
    LEAVE_REP = "LEAVE_REP"
    CREATE_A_COMPUTER = "CREATE_A_COMPUTER"
    ROOM_CLOSED = "ROOM_CLOSED"
    ERROR = "ERROR"
    # spectators (docs/protocol.md "Spectators")
    WATCHING = "WATCHING"
    WATCH_STATUS = "WATCH_STATUS"
    LIVE_GAMES_REP = "LIVE_GAMES_REP"
    LIVE_GAMES_CHANGED = "LIVE_GAMES_CHANGED"
    WATCH_MOVED = "WATCH_MOVED"  # a following watch socket now watches the rematch
    # rematch (docs/protocol.md "Rematch")
    REMATCH_OFFER = "REMATCH_OFFER"


class ErrorCode(StrEnum):
    # frame
    TOO_LARGE = "TOO_LARGE"
    BAD_JSON = "BAD_JSON"
    BAD_MESSAGE = "BAD_MESSAGE"
    UNKNOWN_CMD = "UNKNOWN_CMD"
    RATE_LIMITED = "RATE_LIMITED"
    # lobby
    INVALID = "INVALID"
    ROOM_NOT_FOUND = "ROOM_NOT_FOUND"
    ROOM_FULL = "ROOM_FULL"
    NAME_TAKEN = "NAME_TAKEN"
    LIMIT_REACHED = "LIMIT_REACHED"  # docs/protocol.md "Limits per address"
    # game
    GAME_NOT_STARTED = "GAME_NOT_STARTED"
    GAME_PAUSED = "GAME_PAUSED"
    STALE_PROMPT = "STALE_PROMPT"
    NOT_YOUR_TURN = "NOT_YOUR_TURN"
    NOT_IN_HAND = "NOT_IN_HAND"
    NO_PENDING_PROMPT = "NO_PENDING_PROMPT"
    UNAUTHORIZED = "UNAUTHORIZED"
    # any socket
    UNAVAILABLE = "UNAVAILABLE"  # the database cannot be reached: send the request again later


class Flag(StrEnum):
    USER_INPUT_CONTINUE = "USER_INPUT_CONTINUE"
    GAME_CONTINUE = "GAME_CONTINUE"


ERROR_TEXT = {
    ErrorCode.TOO_LARGE: "That message is too large.",
    ErrorCode.BAD_JSON: "That message is not valid JSON.",
    ErrorCode.BAD_MESSAGE: "That message is not a command object.",
    ErrorCode.UNKNOWN_CMD: "That command is not known here.",
    ErrorCode.RATE_LIMITED: "Too many messages: slow down.",
    ErrorCode.INVALID: "That request is not valid.",
    ErrorCode.ROOM_NOT_FOUND: "There is no such room.",
    ErrorCode.ROOM_FULL: "That room has no free seat.",
    ErrorCode.NAME_TAKEN: "That name is already taken in this room.",
    ErrorCode.LIMIT_REACHED: "You already have as many open rooms or drafts as allowed: finish or cancel one first.",
    ErrorCode.GAME_NOT_STARTED: "The game has not begun yet.",
    ErrorCode.GAME_PAUSED: "The game is paused.",
    ErrorCode.STALE_PROMPT: "That prompt is no longer current.",
    ErrorCode.NOT_YOUR_TURN: "It is not your turn.",
    ErrorCode.NOT_IN_HAND: "You do not hold that card.",
    ErrorCode.NO_PENDING_PROMPT: "Nothing is waiting for that answer.",
    ErrorCode.UNAUTHORIZED: "That token does not open a seat in this room.",
    ErrorCode.UNAVAILABLE: "The server cannot reach its database right now: try again in a moment.",
}

# docs/protocol.md "Limits".
ROOM_NAME_MAX = 40
PLAYER_NAME_MAX = 24
CHAT_MAX = 200
MIN_PLAYERS, MAX_PLAYERS = 2, 8


class ProtocolError(Exception):
    """A refused client frame: becomes an `ERROR` frame; nothing changes on the server."""

    def __init__(self, code: ErrorCode, field: str | None = None, detail: str | None = None):
        super().__init__(f"{code}{f' ({field})' if field else ''}{f': {detail}' if detail else ''}")
        self.code = ErrorCode(code)
        self.field = field
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ClientFrame:
    cmd: ClientCmd
    msg_id: int | None
    payload: dict = field(default_factory=dict)


def _msg_id_of(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def frame_size(raw: str | bytes) -> int:
    """Return the size of a frame in bytes as it came over the wire (UTF-8)."""
    if isinstance(raw, bytes):
        return len(raw)
    # Counting UTF-8 bytes means encoding; a string whose characters alone exceed any
    # limit (a 1 MiB frame) needs no copy made to be refused.
    if raw.isascii():
        return len(raw)
    return len(raw.encode("utf-8", "surrogatepass"))


def parse_frame(raw: str | bytes | None, allowed: frozenset, max_bytes: int) -> ClientFrame:
    """Parse one client frame, refusing it with docs/protocol.md's frame errors in their order.

    A frame carrying invalid Unicode (a lone surrogate, which JSON's \\u escapes can
    express) is refused as INVALID right after the frame checks (docs/protocol.md
    "Limits"): such text can be neither stored, hashed nor logged.
    """
    if raw is None:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, detail="binary frames are not accepted")
    if len(raw) > max_bytes:  # at least one byte a character: over the limit, unread
        raise ProtocolError(ErrorCode.TOO_LARGE, detail=f"over {max_bytes} bytes")
    size = frame_size(raw)
    if size > max_bytes:
        raise ProtocolError(ErrorCode.TOO_LARGE, detail=f"{size} bytes, at most {max_bytes}")
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError(ErrorCode.BAD_JSON) from None
    if not isinstance(message, dict) or not isinstance(message.get("cmd"), str):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, detail="expected an object with a string cmd")
    payload = message.get("payload", {})
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, field="payload", detail="payload must be an object")
    msg_id = _msg_id_of(message.get("msg_id"))
    if message["cmd"] not in allowed:
        raise UnknownCommand(msg_id, message["cmd"])
    if isinstance(raw, bytes) or "\\u" in raw or has_lone_surrogate(raw):  # else no surrogate can be in it
        check_text(message, payload)
    return ClientFrame(ClientCmd(message["cmd"]), msg_id, payload)


def _holds_lone_surrogate(value) -> bool:
    stack = [value]  # no recursion: json.loads accepts nesting deeper than a walk may go
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if has_lone_surrogate(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def check_text(message: dict, payload: dict) -> None:
    """Refuse a parsed frame holding a lone surrogate anywhere: INVALID, naming the payload key."""
    for key, value in payload.items():
        if _holds_lone_surrogate(key) or _holds_lone_surrogate(value):
            raise ProtocolError(ErrorCode.INVALID, key if not has_lone_surrogate(key) else "payload",
                                "invalid Unicode (a lone surrogate)")
    if _holds_lone_surrogate(message):
        raise ProtocolError(ErrorCode.INVALID, None, "invalid Unicode (a lone surrogate)")


class UnknownCommand(ProtocolError):
    """UNKNOWN_CMD, keeping the frame's msg_id so the error can reply to it."""

    def __init__(self, msg_id: int | None, cmd: str):
        super().__init__(ErrorCode.UNKNOWN_CMD, field="cmd", detail=f"{cmd[:40]!r}")
        self.msg_id = msg_id


def reply_id(raw: str | bytes | None) -> int | None:
    """Return the msg_id of a frame being refused, where one can be read."""
    try:
        message = json.loads(raw)
    except (TypeError, ValueError, RecursionError):
        return None
    return _msg_id_of(message.get("msg_id")) if isinstance(message, dict) else None


class RateLimiter:
    """A token bucket per connection: `rate` frames a second, bursts up to `burst`."""

    def __init__(self, rate: float, burst: float | None = None, clock=time.monotonic):
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self.tokens = self.burst
        self.clock = clock
        self.last = clock()

    def allow(self) -> bool:
        if self.rate <= 0:
            return True
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


# --- Payload validation ---------------------------------------------------------------


def clean_text(value, field: str) -> str:
    """Return a client string in NFKC; refuse a non-string or invalid Unicode (INVALID)."""
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.INVALID, field, "must be a string")
    if has_lone_surrogate(value):
        raise ProtocolError(ErrorCode.INVALID, field, "invalid Unicode (a lone surrogate)")
    return normalise(value)


def clean_name(value, field: str, max_length: int) -> str:
    """Normalise and trim a room or player name; refuse empty, over-long or control-character names.

    The length counts the normalised name, what is stored and shown.
    """
    name = clean_text(value, field).strip()
    if not 1 <= len(name) <= max_length:
        raise ProtocolError(ErrorCode.INVALID, field, f"must be 1 to {max_length} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ProtocolError(ErrorCode.INVALID, field, "must not contain control characters")
    return name


def clean_int(value, field: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ProtocolError(ErrorCode.INVALID, field, f"must be an integer from {low} to {high}")
    return value


def clean_id(value, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ProtocolError(ErrorCode.INVALID, field, "must be a positive integer id")
    return value


COMPUTER_LEVELS = ("easy", "normal", "hard")  # weakest first (docs/protocol.md "Computer levels")


def clean_level(payload: dict) -> str:
    """Return the computer level a payload asks for (`level`, default normal), or raise INVALID."""
    level = payload.get("level")
    if level is None:
        return "normal"
    if level not in COMPUTER_LEVELS:
        raise ProtocolError(ErrorCode.INVALID, "level", f"one of {', '.join(COMPUTER_LEVELS)}")
    return level


def clean_create_room(payload: dict) -> dict:
    """Validate `CREATE_A_ROOM`: the fields in docs/protocol.md's order."""
    room_name = clean_name(payload.get("room_name"), "room_name", ROOM_NAME_MAX)
    num_of_players = clean_int(payload.get("num_of_players"), "num_of_players", MIN_PLAYERS, MAX_PLAYERS)
    user_name = clean_name(payload.get("user_name"), "user_name", PLAYER_NAME_MAX)
    computers = payload.get("computers", 0)
    computers = 0 if computers is None else clean_int(computers, "computers", 0, num_of_players - 1)
    draft_id = payload.get("draft_id")
    draft_id = None if draft_id is None else clean_id(draft_id, "draft_id")
    watchable = payload.get("watchable", True)
    if watchable is None:
        watchable = True
    if not isinstance(watchable, bool):
        raise ProtocolError(ErrorCode.INVALID, "watchable", "must be true or false")
    level = clean_level(payload)
    return {"room_name": room_name, "num_of_players": num_of_players, "user_name": user_name,
            "computers": computers, "draft_id": draft_id, "watchable": watchable, "level": level}


def clean_join_room(payload: dict) -> dict:
    return {"room_id": clean_id(payload.get("room_id"), "room_id"),
            "user_name": clean_name(payload.get("user_name"), "user_name", PLAYER_NAME_MAX)}


def clean_draft_id(payload: dict) -> int:
    return clean_id(payload.get("draft_id"), "draft_id")


def clean_search(payload: dict) -> str:
    """Return `GET_ROOMS`'s trimmed `search` ("" when absent or null: no filter)."""
    search = payload.get("search")
    if search is None:
        return ""
    if not isinstance(search, str) or len(search.strip()) > ROOM_NAME_MAX:
        raise ProtocolError(ErrorCode.INVALID, "search", f"must be a string of at most {ROOM_NAME_MAX} characters")
    return search.strip()


def clean_hello(payload: dict, room_id: int | None = None) -> str:
    """Return the token of a HELLO: its `token`, or the token in its `resume_code` for room `room_id`."""
    token = payload.get("token")
    if token is None and "resume_code" in payload:
        code_room, token = parse_resume_code(payload["resume_code"])
        if room_id is not None and code_room != room_id:
            raise ProtocolError(ErrorCode.UNAUTHORIZED, "resume_code", "a resume code of another room")
    # Tokens are URL-safe base64: anything else (a lone surrogate included) opens no seat.
    if not isinstance(token, str) or not 1 <= len(token) <= 200 or not token.isascii():
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "token")
    return token


def wants_batches(payload: dict) -> bool:
    """Say whether a HELLO asks for batches: several frames in one message (docs/protocol.md "Batching")."""
    return payload.get("batch") is True


def clean_chat(payload: dict) -> str:
    text = payload.get("text")
    text = clean_text(text, "text") if isinstance(text, str) else text
    if not isinstance(text, str) or not 1 <= len(text.strip()) <= CHAT_MAX:
        raise ProtocolError(ErrorCode.INVALID, "text", f"must be 1 to {CHAT_MAX} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") and ch not in "\n\t" for ch in text):
        raise ProtocolError(ErrorCode.INVALID, "text", "must not contain control characters")
    return text.strip()


def _clean_card_list(data, field: str = "cards") -> list[int]:
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.INVALID, "data", "expected an object with cards")
    cards = data.get(field)
    if not isinstance(cards, list) or len(cards) > 120 or any(
            not isinstance(c, int) or isinstance(c, bool) for c in cards):
        raise ProtocolError(ErrorCode.INVALID, field, "expected a list of card ids")
    if len(set(cards)) != len(cards):
        raise ProtocolError(ErrorCode.INVALID, field, "a card is named twice")
    return cards


def _clean_last_card(data: dict) -> bool:
    value = data.get("last_card", False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ProtocolError(ErrorCode.INVALID, "last_card", "must be true or false")
    return value


def clean_game_message(payload: dict) -> tuple[int | None, object]:
    """Return (reply_to, data) of a `GAME_MESSAGE`; the data is checked against its prompt later."""
    reply_to = payload.get("reply_to")
    if reply_to is not None and (not isinstance(reply_to, int) or isinstance(reply_to, bool)):
        raise ProtocolError(ErrorCode.INVALID, "reply_to", "must be a prompt's msg_id")
    return reply_to, payload.get("data")


def answer_to_action(kind: str, data):
    """Turn the `data` of an answer to a `kind` prompt into an engine action, or raise INVALID."""
    from game.engine import Discard, Give, Name, Play

    if kind == "turn":
        return Play(cards=tuple(_clean_card_list(data)), last_card=_clean_last_card(data))
    if kind == "name":
        if not isinstance(data, str):
            raise ProtocolError(ErrorCode.INVALID, "data", "name a colour or a shape")
        return Name(data)
    if kind == "give":
        cards = _clean_card_list(data)
        if len(cards) != 1:
            raise ProtocolError(ErrorCode.INVALID, "cards", "give exactly one card")
        return Give(cards[0])
    cards = _clean_card_list(data)
    return Discard(cards=tuple(cards), last_card=_clean_last_card(data))


# --- Server frames ------------------------------------------------------------------------


def frame(cmd: ServerCmd, prompt: str, *, data=None, next_cmd: str | None = None,
          return_type: str | None = None, flag: Flag | None = None, extra_data=None,
          top_card: dict | None = None, msg_id: int | None = None, reply_to: int | None = None) -> dict:
    """Build a server frame with every envelope key present (docs/protocol.md "Envelope")."""
    assert prompt, "every frame carries a human-readable prompt"
    return {"cmd": str(cmd), "msg_id": msg_id, "reply_to": reply_to,
            "payload": {"prompt": prompt, "data": data, "next_cmd": next_cmd and str(next_cmd),
                        "return_type": return_type, "flag": flag and str(flag),
                        "extra_data": extra_data, "top_card": top_card}}


def error_frame(error: ProtocolError | ErrorCode, reply_to: int | None = None) -> dict:
    if isinstance(error, ErrorCode):
        error = ProtocolError(error)
    text = ERROR_TEXT[error.code]
    if error.detail:
        text = f"{text} ({error.field + ': ' if error.field else ''}{error.detail})"
    return frame(ServerCmd.ERROR, text, data={"code": str(error.code), "field": error.field},
                 reply_to=reply_id_or(reply_to, error))


def reply_id_or(reply_to: int | None, error: ProtocolError) -> int | None:
    if reply_to is None and isinstance(error, UnknownCommand):
        return error.msg_id
    return reply_to


def encode(message: dict) -> str:
    """Return a server frame's text: compact JSON, UTF-8 as it is (no \\u escapes but control characters).

    orjson writes what `json.dumps(message, separators=(",", ":"), ensure_ascii=False)` writes,
    several times faster, and every frame of every move goes through here. (Floats below 1e-4
    are written as 1e-7, not 1e-07: the same number.) It refuses integers beyond 64 bits,
    which a client may send as its msg_id and get back as `reply_to`: those frames go through
    the json module.
    """
    try:
        return orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


# --- Schema for the tests: every server frame is checked against it -------------------

ENVELOPE_KEYS = {"cmd", "msg_id", "reply_to", "payload"}
PAYLOAD_KEYS = {"prompt", "data", "next_cmd", "return_type", "flag", "extra_data", "top_card"}
ROOM_KEYS = {"room_id", "name", "num_of_players", "seated", "needed", "status", "players"}
PLAYER_KEYS = {"player_id", "name", "seat", "token"}
CARD_KEYS = {"normal": {"id", "kind", "colour", "shape"}, "special": {"id", "kind", "colour", "symbol"}}

# Fields each public event carries besides "event" (docs/protocol.md "Events").
EVENT_FIELDS = {
    "turn": {"seat"}, "played": {"seat", "cards"}, "drew": {"seat", "count", "reason"},
    "penalty": {"seat", "reason"}, "pick_pending": {"seat", "symbol", "total"},
    "skipped": {"seat"}, "question": {"seat"}, "gave": {"seat", "card"},
    "lost_special": {"seat", "card"}, "discarded": {"seat", "cards"}, "last_card": {"seat"},
    "reshuffled": {"count"}, "chat": {"seat", "name", "text"}, "game_over": {"winner"},
    "spectators": {"count"},
    # the log's first event (never sent as a GAME_EVENT; docs/protocol.md "Replays")
    "begin": {"players", "top_card", "market_count", "pile_count"},
    **{name: {"seat"} for name in ("disconnected", "reconnected", "autoplay", "paused", "left",
                                   "computer_joined", "reclaimed", "resumed")},
}


def check_card(card) -> None:
    assert isinstance(card, dict) and card.get("kind") in CARD_KEYS, card
    assert set(card) == CARD_KEYS[card["kind"]], card


def check_event(event: dict) -> None:
    name = event.get("event")
    assert name in EVENT_FIELDS, f"unknown event {name!r}"
    assert EVENT_FIELDS[name] <= set(event), f"{name} lacks {EVENT_FIELDS[name] - set(event)}"
    assert "cards" not in event or name != "drew", "a public drew event never lists cards"
    for key in ("cards",):
        for card in event.get(key, []) if name != "drew" else []:
            check_card(card)
    if "card" in event:
        check_card(event["card"])


def check_frame(message: dict) -> None:
    """Assert that `message` is a well-formed server frame (the tests call this on every frame)."""
    assert set(message) == ENVELOPE_KEYS, f"envelope keys {set(message)}"
    ServerCmd(message["cmd"])
    payload = message["payload"]
    assert set(payload) == PAYLOAD_KEYS, f"payload keys {set(payload)}"
    assert isinstance(payload["prompt"], str) and payload["prompt"], "prompt must be non-empty"
    assert payload["return_type"] in (None, "INT", "STR", "LIST")
    assert payload["flag"] in (None, "USER_INPUT_CONTINUE", "GAME_CONTINUE")
    if payload["top_card"] is not None:
        check_card(payload["top_card"])
    cmd, data = message["cmd"], payload["data"]
    if cmd == ServerCmd.ERROR:
        assert set(data) == {"code", "field"} and data["code"] in set(ErrorCode)
        assert message["msg_id"] is None
    elif cmd == ServerCmd.GAME_EVENT:
        check_event(data)
    elif cmd in (ServerCmd.GET_ROOMS_REP, ServerCmd.ROOMS_CHANGED):
        assert set(data) == {"rooms", "open_total", "drafts", "drafts_total"}
        assert data["open_total"] >= len(data["rooms"]) and data["drafts_total"] >= len(data["drafts"])
        for room in data["rooms"]:
            assert set(room) == ROOM_KEYS, room
    elif cmd in (ServerCmd.CREATE_A_ROOM_REP, ServerCmd.JOIN_ROOM_REP):
        assert set(data["room"]) == ROOM_KEYS and set(data["player"]) == PLAYER_KEYS
    elif cmd == ServerCmd.CONNECTED:
        assert set(data["room"]) == ROOM_KEYS and "token" not in data["player"]
    elif cmd == ServerCmd.ROOMMATES:
        assert set(data) == {"players", "needed"}
        for p in data["players"]:
            assert set(p) == {"seat", "name", "connected", "is_computer", "level"}
            assert p["level"] in COMPUTER_LEVELS if p["is_computer"] else p["level"] is None
    elif cmd == ServerCmd.GAME_OVER:
        assert set(data) == {"winner", "ranking"}
        for r in data["ranking"]:
            assert set(r) == {"seat", "name", "cards_left"}
    elif cmd == ServerCmd.ROOM_CLOSED:
        assert set(data) == {"reason"} and data["reason"] == "admin" and message["msg_id"] is None
    elif cmd in (ServerCmd.REMATCH_OFFER, ServerCmd.WATCH_MOVED):
        assert set(data) == {"room_id", "from"} and isinstance(data["room_id"], int), data
        assert isinstance(data["from"], str) and data["from"] and message["msg_id"] is None
        if cmd == ServerCmd.REMATCH_OFFER:
            assert payload["next_cmd"] == ClientCmd.JOIN_REMATCH
    elif cmd in LEAVING_CHECKS:
        LEAVING_CHECKS[cmd](message)
    elif cmd in WATCH_CHECKS:
        WATCH_CHECKS[cmd](message)
    elif cmd in (ServerCmd.GAME_BEGIN, ServerCmd.RESUME, ServerCmd.GAME_STATUS, ServerCmd.PLAYER_STATE):
        check_vote(data["vote"])
        for key in ("game_id", "status", "version", "you", "top_card", "market_count", "pile_count",
                    "players", "current_seat", "awaiting_seat", "pending_pick", "question", "prompt",
                    "vote", "recent_events"):
            assert key in data, f"view lacks {key}"
        for card in data["you"]["hand"]:
            check_card(card)
    elif cmd == ServerCmd.GAME_MESSAGE_REP:
        if payload["flag"] == Flag.USER_INPUT_CONTINUE:
            assert data["kind"] in ("turn", "name", "give", "discard")
            assert payload["return_type"] in ("LIST", "STR")
        else:
            assert payload["flag"] == Flag.GAME_CONTINUE and payload["return_type"] is None
            assert payload["next_cmd"] in ("PICK_ONE", "PICK_TWO", "PICK_CARDS")
            for card in payload["extra_data"]:
                check_card(card)


# --- Reading a frame on a socket (game handler; usable by any consumer) -------------------


def read_frame(raw: str | bytes | None, allowed: frozenset, max_bytes: int, limiter: RateLimiter) -> ClientFrame:
    """Parse a client frame and apply the rate limit, refusing it in docs/protocol.md's order.

    Every frame counts against the rate, but frame errors are reported first.
    """
    within_rate = limiter.allow()
    message = parse_frame(raw, allowed, max_bytes)
    if not within_rate:
        raise ProtocolError(ErrorCode.RATE_LIMITED)
    return message


def refusal_frame(error: ProtocolError, raw: str | bytes | None) -> dict:
    """Return the ERROR frame refusing `raw`: it replies to the frame's msg_id unless the frame was too large to read."""
    return error_frame(error, None if error.code == ErrorCode.TOO_LARGE else reply_id(raw))


# --- Leaving a game: the resume code and the leaving frames (docs/protocol.md "Leaving and absence")

RESUME_CODE_SEPARATOR = "."  # tokens are URL-safe base64: letters, digits, "-" and "_", never "."


def resume_code(room_id: int, token: str) -> str:
    """Return the resume code a saved state carries: "<room_id>.<token>"."""
    return f"{room_id}{RESUME_CODE_SEPARATOR}{token}"


def parse_resume_code(code) -> tuple[int, str]:
    """Return (room_id, token) of a resume code, or raise UNAUTHORIZED (field resume_code)."""
    room, _, token = code.strip().partition(RESUME_CODE_SEPARATOR) if isinstance(code, str) else ("", "", "")
    if not room.isascii() or not room.isdigit() or not token or len(token) > 200 or not token.isascii():
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "resume_code", "not a resume code")
    return int(room), token


def check_vote(vote) -> None:
    """Assert the shape of a view's `vote`: null, or the vacant seats and who must still answer."""
    if vote is not None:
        assert {"seats", "waiting_for"} <= set(vote), vote
        assert all(isinstance(seat, int) for seat in vote["seats"] + vote["waiting_for"]), vote


def _check_create_a_computer(message: dict) -> None:
    payload = message["payload"]
    assert set(payload["data"]) == {"seat", "name"}, payload["data"]
    assert payload["next_cmd"] == "ADD_COMPUTER" and isinstance(message["msg_id"], int)


def _check_leave_rep(message: dict) -> None:
    assert set(message["payload"]["data"]) == {"seat"}, message["payload"]["data"]


LEAVING_CHECKS = {ServerCmd.CREATE_A_COMPUTER: _check_create_a_computer, ServerCmd.LEAVE_REP: _check_leave_rep}


# --- Spectators (docs/protocol.md "Spectators") -------------------------------------------

PUBLIC_VIEW_KEYS = {"game_id", "status", "version", "top_card", "market_count", "pile_count", "players",
                    "current_seat", "awaiting_seat", "pending_pick", "question", "vote", "recent_events",
                    "turn_count", "outcome", "spectators", "chat"}
LIVE_GAME_KEYS = {"room_id", "name", "players", "spectators"}


def check_public_view(data: dict) -> None:
    """Assert the shape of a public view: a seat's view without `you` and `prompt`, plus `spectators`."""
    assert set(data) == PUBLIC_VIEW_KEYS, set(data) ^ PUBLIC_VIEW_KEYS
    assert isinstance(data["spectators"], int) and data["spectators"] >= 0
    check_card(data["top_card"])
    check_vote(data["vote"])
    for player in data["players"]:
        assert {"seat", "name", "cards_left", "is_computer", "connected", "level"} <= set(player), player
    for event in data["recent_events"]:
        check_event(event)


def _check_watch_snapshot(message: dict) -> None:
    assert isinstance(message["msg_id"], int) and message["msg_id"] >= 1, message["msg_id"]
    check_public_view(message["payload"]["data"])


def _check_live_games(message: dict) -> None:
    data = message["payload"]["data"]
    assert set(data) == {"games", "total"} and data["total"] >= len(data["games"]), data
    assert message["msg_id"] is None
    for game in data["games"]:
        assert set(game) == LIVE_GAME_KEYS, game
        assert all(isinstance(name, str) for name in game["players"]) and game["spectators"] >= 0


WATCH_CHECKS = {ServerCmd.WATCHING: _check_watch_snapshot, ServerCmd.WATCH_STATUS: _check_watch_snapshot,
                ServerCmd.LIVE_GAMES_REP: _check_live_games, ServerCmd.LIVE_GAMES_CHANGED: _check_live_games}
