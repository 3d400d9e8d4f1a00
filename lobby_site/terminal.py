"""Play Discard in a terminal (issue 12): `python manage.py play --url http://HOST:PORT`.

A line-oriented UI over the protocol client (`lobby_site.client`): the screen is printed
whole after every change, and a typed line is read with asyncio. Three layers:

* **Screens** — pure functions from what the client knows to at most 23 lines of at most 80
  columns (`render_lobby`, `render_waiting_room`, `render_table`, `render_result`); the last
  line of the terminal is the input label (`play> `, `name> `, …), which says what a typed
  line will do.
* **Input** — pure parsers from a typed line to what to do (`Answer`, `Send`, `Local`, a lobby
  action) or a `Problem` explaining why nothing was sent.
* **`TerminalApp`** — the asyncio loop: the lobby socket, then the seat socket, lines from
  stdin, the saved game file.

It talks only to the server: no Django settings, no database. `TableModel` follows what the
frames say about the other seats (counts, whose turn, the pause); `SeatState` (client.py)
keeps the hand, the top card and the pending prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from game.engine import NAME_OPTIONS, WIRE
from game.messages import card_text, event_text
from lobby_site.client import (CLOSE_OPENED_ELSEWHERE, CLOSE_ROOM_CLOSED, CLOSE_UNAUTHORIZED, LobbyClient, SeatClient,
                               SeatState, ServerError, rematch)
from lobby_site.wire import (COMPUTER_LEVELS, ClientCmd, ErrorCode, ProtocolError, ServerCmd, parse_resume_code,
                             resume_code)

WIDTH = 80
HEIGHT = 23  # the 24th line of an 80×24 terminal is the input line
LOG_LINES_MIN = 2
STATUS_QUIET = 0.6  # seconds without a frame before asking GET_GAME_STATUS for names and the vote
PAUSED_STATUS_EVERY = 3.0  # seconds between GET_GAME_STATUS while paused: nothing is pushed when someone votes
SAVED_GAME_FORMAT = "discard-saved-game"  # the browser's download format (docs/protocol.md "Browser client")
MAX_SAVED_FILE = 1 << 20
NAME_LIMIT = 24
ROOM_NAME_LIMIT = 40


# --- The URL ----------------------------------------------------------------------------------


def ws_base_url(url: str) -> str:
    """Return the WebSocket base URL of a site URL: http → ws, https → wss (ws/wss kept as they are)."""
    parts = urlsplit(url.strip())
    schemes = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(f"not an http:// or https:// URL: {url!r}")
    return urlunsplit((schemes[parts.scheme], parts.netloc, parts.path.rstrip("/"), "", ""))


# --- Colours ----------------------------------------------------------------------------------

ANSI = {"red": "31", "blue": "34", "green": "32", "yellow": "33", "bold": "1", "dim": "2", "warn": "1;31",
        "good": "1;32"}


@dataclass(frozen=True)
class Palette:
    """ANSI colours, or none at all (`--no-color`, NO_COLOR, or output that is not a terminal)."""

    enabled: bool = True

    def paint(self, text: str, style: str) -> str:
        if not self.enabled or not text or style not in ANSI:
            return text
        return f"\x1b[{ANSI[style]}m{text}\x1b[0m"

    def card(self, card: dict, text: str | None = None) -> str:
        return self.paint(card_text(card) if text is None else text, card["colour"])


PLAIN = Palette(enabled=False)


def clip(text: str, width: int = WIDTH) -> str:
    """Cut plain text to `width` columns, marking the cut."""
    return text if len(text) <= width else text[: width - 3] + "..."


def wrap(text: str, width: int = WIDTH, indent: str = "") -> list[str]:
    """Wrap plain text to `width` columns (words longer than a line are cut)."""
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}" if line else f"{indent}{word}"
        if len(candidate) > width and line:
            lines.append(line)
            candidate = f"{indent}{word}"
        line = clip(candidate, width)
    return lines + ([line] if line else [])


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- Input: what a typed line means ------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """A typed line that sends nothing, and why."""

    text: str


@dataclass(frozen=True)
class Answer:
    """The `data` of a GAME_MESSAGE answering the pending prompt."""

    data: object


@dataclass(frozen=True)
class Send:
    """Any other game command (CHAT, LEAVE_REQUEST, ADD_COMPUTER, GET_GAME_STATUS)."""

    cmd: ClientCmd
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Local:
    """Something the terminal does without the server: `call` (toggle the last-card call), `leave`
    (ask to confirm leaving), `cancel`, `help`, `quit`, `lobby` (go back), `rematch` (a hook)."""

    action: str


CHAT_LIMIT = 200
TURN_HELP = 'Card numbers play, in laying order ("3", "3 5"); d draws; add ! to call last card.'
PICK_HELP = "Answer with {symbol} cards (their numbers) or d takes {total}; ! calls last card."
COMMANDS_HELP = "/say TEXT chats · /leave leaves the game · /help · /quit"


def parse_card_numbers(words: list[str], hand_size: int) -> list[int] | Problem:
    """Return the hand positions (1-based) typed, or why they are not cards of the hand."""
    numbers = []
    for word in words:
        if not word.isdigit():
            return Problem(f'"{word}" is not a card number: type the numbers shown before the cards.')
        number = int(word)
        if not 1 <= number <= hand_size:
            return Problem(f"There is no card {number}: your hand has {plural(hand_size, 'card')}.")
        if number in numbers:
            return Problem(f"Card {number} is named twice.")
        numbers.append(number)
    return numbers


def split_call(text: str) -> tuple[list[str], bool]:
    """Split "3 5!" / "3 5 !" into the words and whether the last card is called."""
    called = "!" in text
    return text.replace("!", " ").replace(",", " ").split(), called


def parse_command(text: str) -> Send | Local | Problem | None:
    """Return what a slash command means anywhere in a game, or None if the line is not one."""
    if not text.startswith("/"):
        return None
    name, _, rest = text[1:].partition(" ")
    name, rest = name.lower(), rest.strip()
    if name == "say":
        if not rest:
            return Problem("Type something to say after /say.")
        if len(rest) > CHAT_LIMIT:
            return Problem(f"A chat line holds at most {CHAT_LIMIT} characters ({len(rest)} typed).")
        return Send(ClientCmd.CHAT, {"text": rest})
    simple = {"leave": "leave", "help": "help", "quit": "quit", "q": "quit", "lobby": "lobby", "rematch": "rematch"}
    if name in simple:
        return Local(simple[name])
    if name == "status":
        return Send(ClientCmd.GET_GAME_STATUS)
    return Problem(f"Unknown command /{name}. {COMMANDS_HELP}")


def parse_table_line(text: str, *, prompt: dict | None, hand: list[int], paused: bool = False,
                     can_vote: bool = False, confirming_leave: bool = False, call_last_card: bool = False):
    """Return what a line typed at the table means: an Answer, a Send, a Local or a Problem.

    `prompt` is the pending prompt's payload (None when the seat owes nothing), `hand` the
    card ids in the order shown (numbered from 1). Nothing here checks R7/R8: like the page,
    the terminal lets the server judge a well-formed play (R9); it only refuses what is not
    an answer at all.
    """
    text = text.strip()
    if confirming_leave:
        return Send(ClientCmd.LEAVE_REQUEST) if text.lower() in ("y", "yes") else Local("cancel")
    if not text:
        return Problem("Type an answer, or /help.")
    command = parse_command(text)
    if command is not None:
        return command
    if can_vote:
        if text.lower() in ("c", "computer"):
            return Send(ClientCmd.ADD_COMPUTER)
        return Problem("Type c to let a computer take the seat, or /leave to leave too.")
    if paused:
        return Problem("The game is paused: answers wait until it resumes (/say still works).")
    if prompt is None:
        if text == "!":
            return Local("call")
        return Problem("It is not your turn: wait for your prompt (/say TEXT chats meanwhile).")
    kind = prompt["data"]["kind"]
    options = prompt.get("extra_data") or []
    if kind == "name":
        return parse_name(text, options or list(NAME_OPTIONS))
    words, called = split_call(text)
    if kind == "turn":
        return parse_turn(words, called or call_last_card, prompt, hand, bare_call=text == "!")
    if kind == "give":
        return parse_give(words, options, hand)
    if kind == "discard":
        return parse_discard(words, called or call_last_card, prompt["data"]["count"], hand, bare_call=text == "!")
    return Problem(f"This terminal cannot answer a {kind!r} prompt.")


def parse_name(text: str, options: list[str]) -> Answer | Problem:
    """A colour or shape, by its name or an unambiguous start of it ("gr" → green)."""
    word = text.lower()
    matches = [option for option in options if option == word] or [o for o in options if o.startswith(word)]
    if len(matches) == 1:
        return Answer(matches[0])
    return Problem(f'Name one of: {" ".join(options)} ("{text}" is {"ambiguous" if matches else "not one"}).')


def parse_turn(words: list[str], called: bool, prompt: dict, hand: list[int], bare_call: bool) -> object:
    if bare_call:
        return Local("call")
    if len(words) == 1 and words[0].lower() in ("d", "draw", "t", "take"):
        return Answer({"cards": [], "last_card": False})
    numbers = parse_card_numbers(words, len(hand))
    if isinstance(numbers, Problem):
        return numbers
    if not numbers:
        return Problem("Type the numbers of the cards to play, or d to draw.")
    first = hand[numbers[0] - 1]
    starts = prompt.get("extra_data") or []
    if first not in starts:
        return Problem(f"Card {numbers[0]} cannot start a play now: start with a card marked *"
                       f"{'' if starts else ' (you have none: d draws)'}.")
    return Answer({"cards": [hand[n - 1] for n in numbers], "last_card": called})


def parse_give(words: list[str], options: list[int], hand: list[int]) -> Answer | Problem:
    numbers = parse_card_numbers(words, len(hand))
    if isinstance(numbers, Problem):
        return numbers
    if len(numbers) != 1:
        return Problem("Give exactly one card: type its number (one marked *).")
    card = hand[numbers[0] - 1]
    if card not in options:
        return Problem(f"Card {numbers[0]} does not answer the question: give one marked *.")
    return Answer({"cards": [card]})


def parse_discard(words: list[str], called: bool, count: int, hand: list[int], bare_call: bool) -> object:
    if bare_call:
        return Local("call")
    need = min(count, len(hand))
    numbers = parse_card_numbers(words, len(hand))
    if isinstance(numbers, Problem):
        return numbers
    if len(numbers) != need:
        return Problem(f"Discard exactly {plural(need, 'card')}: type {need} different numbers.")
    return Answer({"cards": [hand[n - 1] for n in numbers], "last_card": called})


# Lobby actions.


@dataclass(frozen=True)
class JoinRoom:
    room_id: int


@dataclass(frozen=True)
class StartCreating:
    """The lobby line `c`: start the create-a-room questions."""


@dataclass(frozen=True)
class WaitForDraft:
    draft_id: int


@dataclass(frozen=True)
class LoadGame:
    room_id: int
    token: str


@dataclass(frozen=True)
class Rename:
    name: str


LOBBY_HELP = "a number joins · c creates · w waits · load CODE|FILE · n NAME · r · q quits"


def check_user_name(text: str) -> str | Problem:
    name = text.strip()
    if not 1 <= len(name) <= NAME_LIMIT or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return Problem(f"A name has 1 to {NAME_LIMIT} characters, without control characters.")
    return name


def parse_lobby_line(text: str, *, rooms: list[dict], drafts: list[dict], read_file=None):
    """Return what a line typed in the lobby means, or a Problem.

    `read_file(path)` returns a saved game file's text (None: only codes are accepted).
    """
    text = text.strip()
    word, _, rest = text.partition(" ")
    word, rest = word.lower(), rest.strip()
    if not text:
        return Local("refresh")
    if text.isdigit():
        number = int(text)
        if not 1 <= number <= len(rooms):
            return Problem(f"There is no room {number}." if rooms else "No room is open: c creates one.")
        return JoinRoom(rooms[number - 1]["room_id"])
    if word in ("c", "create"):
        return StartCreating()
    if word in ("w", "wait"):
        if not drafts:
            return Problem("No room is being created right now.")
        return WaitForDraft(drafts[0]["draft_id"])
    if word in ("r", "refresh"):
        return Local("refresh")
    if word in ("q", "quit", "/quit"):
        return Local("quit")
    if word in ("n", "name"):
        checked = check_user_name(rest)
        return checked if isinstance(checked, Problem) else Rename(checked)
    if word in ("l", "load"):
        return parse_load(rest, read_file)
    if word in ("h", "help", "/help"):
        return Local("help")
    return Problem(f'"{clip(text, 30)}" means nothing here: {LOBBY_HELP}.')


def parse_load(text: str, read_file=None) -> LoadGame | Problem:
    """A resume code ("12.AbC…"), or the path of a saved game file holding one."""
    if not text:
        return Problem("Type load and the resume code (or the saved game file's path).")
    code = text
    if read_file is not None and not re.fullmatch(r"\d+\..+", text):
        try:
            saved = json.loads(read_file(text))
        except OSError as error:
            return Problem(f"Cannot read {clip(text, 40)}: {error.strerror or error}.")
        except ValueError:
            return Problem(f"{clip(text, 40)} is not a saved game (not JSON).")
        if not isinstance(saved, dict) or saved.get("format") != SAVED_GAME_FORMAT:
            return Problem(f"{clip(text, 40)} is not a Discard saved game.")
        code = saved.get("resume_code")
    try:
        room_id, token = parse_resume_code(code)
    except ProtocolError:
        return Problem("That is not a resume code: it looks like 12.AbCd… (room, dot, token).")
    return LoadGame(room_id, token)



def computer_tag(player: dict) -> str:
    """Return a computer's tag: " (cpu)" at the normal level, else its level (" (hard)"), to fit a 21-column cell."""
    level = player.get("level") or "normal"
    return " (cpu)" if level == "normal" else f" ({level})"

@dataclass
class CreateForm:
    """The questions asked to create a room, one line each; a blank line takes the default."""

    user_name: str
    step: str = "name"  # name → seats → computers (→ level, when there are computers)
    room_name: str = ""
    seats: int = 4
    computers: int = 0
    level: str = "normal"
    draft_id: int | None = None

    @property
    def question(self) -> str:
        return {"name": f"Room name [{self.default_name}]", "seats": "Seats, 2 to 8 [4]",
                "computers": f"Computers, 0 to {self.seats - 1} [0]",
                "level": "Computers' level: easy, normal or hard [normal]"}[self.step]

    @property
    def default_name(self) -> str:
        return clip(f"{self.user_name}'s room", ROOM_NAME_LIMIT)

    def take(self, text: str) -> Problem | None | bool:
        """Apply one typed answer; return a Problem, False (cancelled), True (done) or None (next question)."""
        text = text.strip()
        if text.lower() in ("/cancel", "/c"):
            return False
        if self.step == "level":
            level = text.lower() or "normal"
            matches = [known for known in COMPUTER_LEVELS if known.startswith(level)]
            if len(matches) != 1:
                return Problem("Type easy, normal or hard.")
            self.level = matches[0]
            return True
        if self.step == "name":
            name = text or self.default_name
            if len(name) > ROOM_NAME_LIMIT:
                return Problem(f"A room name has at most {ROOM_NAME_LIMIT} characters.")
            self.room_name, self.step = name, "seats"
            return None
        number = int(text) if text.isdigit() else (None if text else {"seats": 4, "computers": 0}[self.step])
        if self.step == "seats":
            if number is None or not 2 <= number <= 8:
                return Problem("Type a number of seats from 2 to 8.")
            self.seats, self.step = number, "computers"
            return None
        if number is None or not 0 <= number < self.seats:
            return Problem(f"Type a number of computers from 0 to {self.seats - 1}.")
        self.computers = number
        if number:
            self.step = "level"
            return None
        return True


# --- What the table looks like, from frames ------------------------------------------------


@dataclass
class TableModel:
    """What a seat knows of the others, kept from snapshots and public events (no I/O)."""

    room_name: str = ""
    room_id: int | None = None
    seat: int | None = None
    began: bool = False
    roommates: dict | None = None  # the last ROOMMATES data (the waiting room)
    players: list[dict] = field(default_factory=list)  # the view's players, counts kept up to date
    market_count: int = 0
    pile_count: int = 0
    current_seat: int | None = None
    pending_pick: dict | None = None
    question: dict | None = None
    status: str = "waiting"
    vote: dict | None = None
    log: list[str] = field(default_factory=list)
    chat: list[str] = field(default_factory=list)  # chat history, when the view carries one
    left_names: dict[int, str] = field(default_factory=dict)  # seat → the name of who left it
    human_names: dict[int, str] = field(default_factory=dict)  # seat → its person's name, from earlier views
    refused: dict | None = None  # the last ERROR frame
    left: bool = False  # LEAVE_REP came: the seat is no longer ours

    def names(self) -> list[str]:
        return [p["name"] for p in sorted(self.players, key=lambda p: p["seat"])]

    def player(self, seat: int | None) -> dict | None:
        return next((p for p in self.players if p["seat"] == seat), None)

    def name_of(self, seat: int | None) -> str:
        player = self.player(seat)
        return player["name"] if player else "someone"

    def person_of(self, seat: int) -> str:
        """The name of the person whose seat it is, even while a computer plays it ("Computer 2")."""
        return self.left_names.get(seat) or self.human_names.get(seat) or self.name_of(seat)

    @property
    def paused(self) -> bool:
        return self.status == "paused"

    def accept(self, frame: dict) -> set[str]:
        """Apply one frame (in msg_id order); return follow-ups the app owes: "status" (ask
        GET_GAME_STATUS), "reprompt" (the answer was refused: offer the prompt again), "saved"
        (a PLAYER_STATE came)."""
        cmd, payload = frame["cmd"], frame["payload"]
        data = payload["data"]
        if cmd == ServerCmd.CONNECTED:
            self.room_name, self.room_id = data["room"]["name"], data["room"]["room_id"]
            self.seat = data["player"]["seat"]
        elif cmd == ServerCmd.ROOMMATES:
            self.roommates = {**data, "prompt": payload["prompt"]}
        elif cmd in (ServerCmd.GAME_BEGIN, ServerCmd.RESUME, ServerCmd.GAME_STATUS, ServerCmd.PLAYER_STATE):
            self._snapshot(cmd, data)
            return {"saved"} if cmd == ServerCmd.PLAYER_STATE else set()
        elif cmd == ServerCmd.GAME_EVENT:
            return self._event(data, payload["prompt"])
        elif cmd == ServerCmd.GAME_MESSAGE_REP and payload["flag"] != "USER_INPUT_CONTINUE":
            self.add_log(payload["prompt"])  # a draw notice: "You drew blue cross from the market."
        elif cmd == ServerCmd.CREATE_A_COMPUTER:
            self.left_names[data["seat"]] = data["name"]
            return {"status"}  # the vote's waiting list is in the view
        elif cmd == ServerCmd.GAME_OVER:
            self.status = "finished"
        elif cmd == ServerCmd.LEAVE_REP:
            self.left = True
        elif cmd == ServerCmd.ERROR:
            self.refused = frame
            code = (data or {}).get("code")
            if code in (ErrorCode.INVALID, ErrorCode.NOT_IN_HAND):
                return {"refused", "reprompt"}
            if code in (ErrorCode.STALE_PROMPT, ErrorCode.NOT_YOUR_TURN):
                return {"refused", "status"}
            return {"refused"}
        return set()

    def _snapshot(self, cmd: str, view: dict) -> None:
        self.began = True
        self.players = [dict(p) for p in view["players"]]
        self.human_names.update({p["seat"]: p["name"] for p in self.players if not p["is_computer"]})
        self.market_count, self.pile_count = view["market_count"], view["pile_count"]
        self.current_seat, self.pending_pick = view["current_seat"], view["pending_pick"]
        self.question, self.vote = view["question"], view.get("vote")
        self.status = view["status"]
        self.seat = view["you"]["seat"]
        if view.get("chat") is not None:  # chat history (docs/protocol.md second round), once the server sends it
            self.chat = [event_text(e, self.names()) for e in view["chat"]]
        if cmd == ServerCmd.GAME_BEGIN:
            self.log = ["The game begins."]
        elif cmd == ServerCmd.RESUME:
            self.log = [event_text(e, self.names()) for e in view["recent_events"] if e["event"] != "turn"]

    def _event(self, event: dict, text: str) -> set[str]:
        kind, seat = event["event"], event.get("seat")
        player = self.player(seat)
        follow = set()
        if kind == "turn":
            self.current_seat, self.question = seat, None
            return follow  # the players' list marks whose turn it is: the log keeps room for what happened
        elif kind in ("played", "discarded"):
            self._count(player, -len(event["cards"]))
            self.pile_count += len(event["cards"])
        elif kind in ("gave", "lost_special"):
            self._count(player, -1)
            self.pile_count += 1
            self.question = None
        elif kind == "drew":
            self._count(player, event["count"])
            self.market_count = max(0, self.market_count - event["count"])
            if event["reason"] == "pick":
                self.pending_pick = None
            if seat == self.seat and event["count"]:
                return follow  # the draw notice just before said it with the cards
        elif kind == "pick_pending":
            self.pending_pick = {"symbol": event["symbol"], "total": event["total"]}
        elif kind == "question":
            self.question = {key: event[key] for key in ("seat", "colour", "shape") if key in event}
        elif kind == "reshuffled":
            self.market_count += event["count"]
            self.pile_count = max(1, self.pile_count - event["count"])
        elif kind == "paused":
            self.status = "paused"
            self.vote = self.vote or {"seats": [], "waiting_for": [], "leaving": []}
            self.vote.setdefault("leaving", [])
            if seat not in self.vote["leaving"]:
                self.vote["leaving"].append(seat)
            text = f"{self.person_of(seat)} is leaving: the game is paused."
        elif kind == "left":
            self.left_names[seat] = event.get("name") or self.person_of(seat)
            if self.vote is not None:
                self.vote["seats"] = sorted(set(self.vote["seats"]) | {seat})
                self.vote["leaving"] = [s for s in self.vote.get("leaving", []) if s != seat]
            follow.add("status")
        elif kind in ("computer_joined", "reclaimed"):
            follow.add("status")  # the seat's new name is in the view
            who = self.person_of(seat)
            text = (f"A computer takes {who}'s seat." if kind == "computer_joined"
                    else f"{who} came back and took their seat back.")
        elif kind == "resumed":
            self.status, self.vote = "playing", None
        elif kind in ("disconnected", "reconnected") and player is not None:
            player["connected"] = kind == "reconnected"
        elif kind == "game_over":
            self.status = "finished"
        if kind == "chat":
            self.chat.append(text)
        self.add_log(text)
        return follow

    @staticmethod
    def _count(player: dict | None, change: int) -> None:
        if player is not None:
            player["cards_left"] = max(0, player["cards_left"] + change)

    def add_log(self, text: str) -> None:
        self.log.append(text)
        del self.log[:-50]


# --- Screens ----------------------------------------------------------------------------------


@dataclass
class UiState:
    """What the person sees besides the game: messages, the input label, the connection."""

    notice: str = ""
    problem: str = ""
    call_last_card: bool = False
    confirming_leave: bool = False
    leaving: bool = False
    voted: bool = False
    connection: str = "connecting"  # connecting | connected | reconnecting


def title_line(left: str, right: str, palette: Palette) -> str:
    left = clip(left, WIDTH - len(right) - 1)
    return palette.paint(left, "bold") + " " * (WIDTH - len(left) - len(right)) + right


def render_lobby(*, user_name: str, url: str, listing: dict | None, prompt: str, form: CreateForm | None,
                 waiting_for: int | None, notice: str = "", problem: str = "", palette: Palette = PLAIN) -> list[str]:
    """The lobby: the open rooms (numbered), drafts, and the keys."""
    lines = [title_line(f"Discard · lobby · {url}", f"You: {user_name}", palette), clip(prompt)]
    rooms = (listing or {}).get("rooms", [])
    drafts = (listing or {}).get("drafts", [])
    # A notice may hold a resume code to copy: wrapped, never cut.
    notice_lines = [line for part in notice.split("\n") for line in wrap(part)]
    room_lines = HEIGHT - 7 - max(1, len(notice_lines))
    if rooms:
        lines.append(palette.paint(f" #  {'Room':<30} {'Seats':<7} Players", "dim"))
        for number, room in enumerate(rooms[:room_lines], start=1):
            seats = f"{room['seated']}/{room['num_of_players']}"
            lines.append(clip(f"{number:>2}  {clip(room['name'], 30):<30} {seats:<7} {', '.join(room['players'])}"))
        if len(rooms) > room_lines:
            lines.append(f"    … and {len(rooms) - room_lines} more")
    else:
        lines.append("No room is open.")
    if drafts and waiting_for is None:
        lines.append(palette.paint("A room is being created: w waits for it, or c creates your own.", "bold"))
    elif waiting_for is not None:
        lines.append("Waiting for the room being created…")
    lines.append("")
    if form is not None:
        lines.append(f"Creating a room ({'room name' if form.step == 'name' else form.step}); /cancel stops.")
    else:
        lines.append(clip(LOBBY_HELP))
    lines += [palette.paint(line, "good") for line in notice_lines] or [""]
    lines.append(palette.paint(clip(problem), "warn"))
    return lines[:HEIGHT]


def lobby_label(form: CreateForm | None) -> str:
    return f"{form.question}> " if form is not None else "lobby> "


def render_waiting_room(table: TableModel, ui: UiState, you: str, palette: Palette = PLAIN) -> list[str]:
    """The waiting room: who sits where, who is connected, how many seats are free."""
    lines = [title_line(f"Discard · {table.room_name} (room {table.room_id}) · waiting room",
                        f"{you} · {ui.connection}", palette)]
    mates = table.roommates
    if mates is None:
        lines.append("Connecting to the room…")
    else:
        lines.append(mates["prompt"])
        for player in sorted(mates["players"], key=lambda p: p["seat"]):
            who = f"{player['name']}{' (you)' if player['seat'] == table.seat else ''}"
            state = (f"computer{computer_tag(player)}" if player["is_computer"]
                     else ("connected" if player["connected"] else "not connected"))
            lines.append(clip(f"  seat {player['seat']}  {who:<30} {state}"))
        for _ in range(mates["needed"]):
            lines.append("  (a free seat)")
    lines += ["", "The game begins when every seat is taken and everyone is connected.",
              "/leave frees your seat and goes back to the lobby · /quit quits"]
    lines += [palette.paint(clip(ui.notice), "good") if ui.notice else "", palette.paint(clip(ui.problem), "warn")]
    return lines[:HEIGHT]


def player_cells(table: TableModel, palette: Palette) -> list[str]:
    cells = []
    leaving = set((table.vote or {}).get("leaving", []))
    vacant = set((table.vote or {}).get("seats", []))
    for player in sorted(table.players, key=lambda p: p["seat"]):
        seat = player["seat"]
        mark = ">" if seat == table.current_seat else " "
        tags = " (you)" if seat == table.seat else (computer_tag(player) if player["is_computer"] else "")
        if seat in vacant:
            tags += " left"
        elif seat in leaving:
            tags += " leaving"
        elif not player["connected"] and not player["is_computer"]:
            tags += " away"
        text = clip(f"{mark}{player['name']}{tags}", 21)
        cell = f"{text:<21}{player['cards_left']:>3}  "
        cells.append(palette.paint(cell, "bold") if seat == table.current_seat else cell)
    return cells


def hand_cells(hand: list[int], cards: dict[int, dict], marked: set[int], palette: Palette) -> list[str]:
    """Each card as "12*yellow triangle " (19 columns): its number, * when it may be played now."""
    cells = []
    for number, card_id in enumerate(hand, start=1):
        card = cards.get(card_id)
        text = card_text(card) if card else f"card {card_id}"
        coloured = palette.card(card, text) if card else text
        cells.append(f"{number:>2}{'*' if card_id in marked else ' '}{coloured}{' ' * (16 - len(text))}")
    return cells


def in_rows(cells: list[str], per_row: int, indent: str = "") -> list[str]:
    return [indent + "".join(cells[i:i + per_row]).rstrip() for i in range(0, len(cells), per_row)]


def prompt_help(prompt: dict | None, table: TableModel, ui: UiState, can_vote: bool) -> tuple[str, str]:
    """Return (the line saying what is asked, the line saying how to answer)."""
    if ui.confirming_leave:
        return ("Leave the game? It pauses while you leave; your game is saved to a file with a code to "
                "come back.", "Type y to leave, anything else to stay.")
    if ui.leaving:
        return "Leaving: saving your game…", ""
    if can_vote:
        names = ", ".join(table.person_of(s) for s in table.vote["seats"])
        return (f"{names} left. Replace them with a computer, or leave too?",
                "Type c to let a computer take the seat, or /leave to leave too.")
    if table.paused:
        vote = table.vote or {}
        waiting = [table.name_of(s) for s in vote.get("waiting_for", [])]
        leaving = [table.name_of(s) for s in vote.get("leaving", [])]
        if leaving:
            text = f"Paused: {', '.join(leaving)} {'is' if len(leaving) == 1 else 'are'} leaving."
        else:
            text = "Paused."
        if waiting:
            text += f" Waiting for {', '.join(waiting)} to choose."
        elif ui.voted:
            text += " You chose a computer."
        return text, COMMANDS_HELP
    if prompt is None:
        waiting_on = table.name_of(table.current_seat)
        return f"Waiting for {waiting_on}…", COMMANDS_HELP
    kind = prompt["data"]["kind"]
    if kind == "turn":
        pick = prompt["data"].get("pending_pick")
        help_text = (PICK_HELP.format(symbol=pick["symbol"].replace("_", " "), total=pick["total"]) if pick
                     else TURN_HELP)
    elif kind == "name":
        help_text = "Type a colour or shape: " + " ".join(prompt.get("extra_data") or NAME_OPTIONS)
    elif kind == "give":
        help_text = "Type the number of the card to give (one marked *)."
    else:
        count = prompt["data"]["count"]
        help_text = f"Type {plural(count, 'card number')} to discard (any cards); add ! to call last card."
    return prompt["prompt"], help_text


TABLE_LABELS = {"turn": "play> ", "name": "name> ", "give": "give> ", "discard": "discard> "}


def table_label(prompt: dict | None, table: TableModel, ui: UiState, can_vote: bool) -> str:
    if ui.confirming_leave:
        return "leave? y/n> "
    if can_vote:
        return "vote> "
    if prompt is None or table.paused:
        return "> "
    return TABLE_LABELS.get(prompt["data"]["kind"], "> ")


def render_table(table: TableModel, state: SeatState, ui: UiState, *, cards: dict[int, dict], can_vote: bool = False,
                 palette: Palette = PLAIN) -> list[str]:
    """The game table in at most 23 lines of 80 columns.

    `cards` maps every card id to its wire form (the deck: ids never change meaning, R1).
    """
    you = table.name_of(table.seat)
    prompt = None if table.paused else (state.current_prompt or {}).get("payload")
    right = f"{you} · msg {state.last_msg_id} · {ui.connection}"
    lines = [title_line(f"Discard · {table.room_name} (room {table.room_id})", right, palette)]
    lines += in_rows(player_cells(table, palette), 3)
    top = state.top_card
    top_text = palette.card(top) if top else "none"
    lines.append(f"Top card: {top_text}   Market {table.market_count}   Pile {table.pile_count}")
    extra = []
    if table.pending_pick:
        pick = table.pending_pick
        extra.append(f"Pick pending: {pick['symbol'].replace('_', ' ')}, total {pick['total']}.")
    if table.question:
        asked = table.question.get("colour") or table.question.get("shape")
        extra.append(f"Question: {table.name_of(table.question['seat'])} asks for {asked}.")
    if ui.call_last_card:
        extra.append("You will call last card with your next answer.")
    lines.append(palette.paint(clip(" ".join(extra)), "bold") if extra else "")
    marked = set()
    if prompt is not None and prompt["data"]["kind"] in ("turn", "give"):
        marked = set(prompt.get("extra_data") or [])
    hand_rows = in_rows(hand_cells(state.hand, cards, marked, palette), 4)
    asked, how = prompt_help(prompt, table, ui, can_vote)
    footer = [palette.paint(line, "bold") for line in wrap(asked)[:2]] + [clip(how)]
    footer += [palette.paint(clip(ui.notice), "good") if ui.notice else "", palette.paint(clip(ui.problem), "warn")]
    room_for_log = max(LOG_LINES_MIN, HEIGHT - len(lines) - 2 - len(hand_rows) - len(footer))
    lines.append(palette.paint("Last events:", "dim"))
    lines += ["  " + clip(text, WIDTH - 2) for text in table.log[-room_for_log:]]
    lines += [""] * (room_for_log - min(room_for_log, len(table.log)))
    lines.append(f"Your hand ({len(state.hand)}):" + ("  * = may be played now" if marked else ""))
    lines += hand_rows
    return (lines + footer)[:HEIGHT]


def render_result(table: TableModel, over: dict, you_seat: int | None, palette: Palette = PLAIN) -> list[str]:
    """The end: the winner and the ranking (R14)."""
    winner = next((r["name"] for r in over["ranking"] if r["seat"] == over["winner"]), "?")
    headline = "Game over: you win!" if over["winner"] == you_seat else f"Game over: {winner} wins."
    lines = [title_line(f"Discard · {table.room_name} (room {table.room_id})", "finished", palette),
             palette.paint(headline, "good"), "", "Ranking:"]
    for place, row in enumerate(over["ranking"], start=1):
        you = " (you)" if row["seat"] == you_seat else ""
        lines.append(f"  {place}. {row['name']}{you:<8} {plural(row['cards_left'], 'card')} left")
    lines += ["", "Last events:"] + ["  " + clip(t, WIDTH - 2) for t in table.log[-6:]]
    lines += ["", "Enter goes back to the lobby · /rematch · /quit quits"]
    return lines[:HEIGHT]


HELP_TEXT = [
    "At the table:",
    '  3 5      plays cards 3 then 5 (numbers as shown; the first must be marked *)',
    "  d        draws a card (or takes the pending pick total)",
    "  3 !      plays card 3 and calls last card; ! alone calls it with the next answer",
    "  red, cup names a colour or shape when you asked a question",
    "  /say hi  chats with the table",
    "  /leave   leaves: the game pauses, your game is saved to a file with a resume code",
    "  /quit    quits the program (your seat stays yours: come back with load CODE)",
    "In the lobby: a number joins that room, c creates one, w waits for one being",
    "created, load CODE (or load FILE) takes your seat back after leaving.",
]


# --- Saved games -----------------------------------------------------------------------------------


def saved_game(room_id: int, token: str, state: dict, now: dt.datetime | None = None) -> dict:
    """The saved game, in the browser's download format (docs/protocol.md "Browser client")."""
    now = now or dt.datetime.now(dt.UTC)
    return {"format": SAVED_GAME_FORMAT, "saved_at": now.isoformat().replace("+00:00", "Z"),
            "resume_code": resume_code(room_id, token), "state": state}


def write_saved_game(directory: Path, saved: dict) -> Path:
    """Write the saved game to a new file readable only by its owner (it holds the seat's token)."""
    room_id = saved["resume_code"].split(".", 1)[0]
    stamp = saved["saved_at"][:19].replace(":", "-")
    path = directory / f"discard-room{room_id}-{stamp}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(saved, file, indent=1)
    return path


def read_saved_file(path: str) -> str:
    file = Path(path).expanduser()
    if file.stat().st_size > MAX_SAVED_FILE:
        raise OSError(0, "the file is larger than 1 MiB")
    return file.read_text()


# --- The program -------------------------------------------------------------------------------


class Screen:
    """Where screens go: cleared and redrawn on a terminal, appended otherwise."""

    def __init__(self, out=None, clear: bool | None = None):
        self.out = out or sys.stdout
        self.clear = self.out.isatty() if clear is None else clear

    def show(self, lines: list[str], label: str) -> None:
        text = "\n".join(lines) + "\n" + label
        self.out.write(("\x1b[H\x1b[2J" if self.clear else "\n") + text)
        self.out.flush()


def stdin_lines(loop: asyncio.AbstractEventLoop) -> asyncio.Queue:
    """Return a queue of the lines typed (None at end of input), fed by a daemon thread.

    A thread rather than `loop.add_reader`: it works the same on a terminal, a pipe or a file.
    """
    lines: asyncio.Queue = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\r\n"))
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read, daemon=True, name="stdin").start()
    return lines


@dataclass
class Ticket:
    """What opens a seat: the room and the token."""

    room_id: int
    token: str
    room_name: str = ""


class Quit(Exception):
    """The person quit (or input ended)."""


class TerminalApp:
    def __init__(self, url: str, *, name: str | None, palette: Palette, save_dir: Path, screen: Screen,
                 lines: asyncio.Queue, cards: dict[int, dict]):
        self.site_url = url
        self.ws_url = ws_base_url(url)
        self.name = name
        self.palette = palette
        self.save_dir = save_dir
        self.screen = screen
        self.lines = lines
        self.cards = cards
        self.notice = ""
        self._line_task: asyncio.Task | None = None

    async def run(self) -> None:
        try:
            if self.name is None or isinstance(check_user_name(self.name), Problem):
                self.name = await self.ask_name()
            while True:
                ticket = await self.lobby()
                while ticket is not None:  # a rematch goes straight to its table
                    ticket = await self.play(ticket)
        except Quit:
            return  # /quit ends the program
        finally:
            if self._line_task is not None:
                self._line_task.cancel()

    # input ------------------------------------------------------------------------------------

    def next_line_task(self) -> asyncio.Task:
        """The one pending read of a line, kept across waits so no typed line is lost."""
        if self._line_task is None or self._line_task.done():
            self._line_task = asyncio.ensure_future(self.lines.get())
        return self._line_task

    def take_line(self) -> str:
        line = self._line_task.result()
        self._line_task = None
        if line is None:
            raise Quit
        return line

    async def ask_name(self) -> str:
        problem = ""
        while True:
            self.screen.show(["Discard online", f"Server: {self.site_url}", "", "What is your name?",
                              self.palette.paint(problem, "warn")], "name> ")
            await self.next_line_task()
            checked = check_user_name(self.take_line())
            if not isinstance(checked, Problem):
                return checked
            problem = checked.text

    # the lobby ----------------------------------------------------------------------------

    async def lobby(self) -> Ticket:
        """Show the lobby until the person sits down somewhere; reconnect if the socket drops."""
        delay = 0.5
        while True:
            try:
                async with LobbyClient(self.ws_url) as lobby:
                    delay = 0.5
                    return await self._lobby(lobby)
            except (OSError, ConnectionError, asyncio.TimeoutError) as error:
                self.notice = ""
                self.screen.show([f"Discard · lobby · {self.site_url}", "",
                                  f"Cannot reach the server ({error.__class__.__name__}); retrying in {delay:.0f} s…",
                                  "Type q to quit."], "lobby> ")
                line_task = self.next_line_task()
                await asyncio.wait({line_task}, timeout=delay)
                if line_task.done() and self.take_line().strip().lower() in ("q", "/quit"):
                    raise Quit
                delay = min(delay * 2, 10)

    async def _lobby(self, lobby: LobbyClient) -> Ticket:
        reply = await lobby.request(ClientCmd.GET_ROOMS)
        listing, prompt = reply["payload"]["data"], reply["payload"]["prompt"]
        form: CreateForm | None = None
        waiting_for: int | None = None
        problem, help_shown = "", False
        closed = asyncio.ensure_future(lobby.wait_closed())
        try:
            while True:
                lines = render_lobby(user_name=self.name, url=self.site_url, listing=listing, prompt=prompt, form=form,
                                     waiting_for=waiting_for, notice=self.notice, problem=problem,
                                     palette=self.palette)
                if help_shown:
                    lines = lines[:2] + HELP_TEXT + lines[-2:]
                self.screen.show(lines, lobby_label(form))
                push_task = asyncio.ensure_future(lobby.next_push())
                line_task = self.next_line_task()
                await asyncio.wait({line_task, push_task, closed}, return_when=asyncio.FIRST_COMPLETED)
                if not push_task.done():
                    push_task.cancel()
                else:
                    push = push_task.result()
                    data = push["payload"]["data"]
                    if push["cmd"] == ServerCmd.ROOMS_CHANGED:
                        listing, prompt = data, push["payload"]["prompt"]
                    elif push["cmd"] == ServerCmd.DRAFT_RESOLVED and data["draft_id"] == waiting_for:
                        waiting_for = None
                        self.notice = f"The room {data['room']['name']} is ready: type its number to join."
                    elif push["cmd"] == ServerCmd.DRAFT_CANCELLED:
                        if form is not None and form.draft_id == data["draft_id"]:
                            form.draft_id = None  # timed out: create without it
                        if data["draft_id"] == waiting_for:
                            waiting_for = None
                            self.notice = "That room was not created after all: c creates your own."
                if closed.done():
                    raise ConnectionError("the lobby connection closed")
                if not line_task.done():
                    continue
                text = self.take_line()
                problem, help_shown = "", False
                if form is not None:
                    result = form.take(text)
                    if isinstance(result, Problem):
                        problem = result.text
                    elif result is False:
                        if form.draft_id is not None:
                            with contextlib.suppress(ServerError):
                                await lobby.cancel_draft(form.draft_id)
                        form, self.notice = None, "Cancelled."
                    elif result is True:
                        extra = {} if form.draft_id is None else {"draft_id": form.draft_id}
                        try:
                            made = await lobby.create_room(form.room_name, form.seats, self.name,
                                                           computers=form.computers, level=form.level, **extra)
                        except ServerError as error:
                            problem = lobby_error_text(error, self.name)
                            form = None
                            continue
                        self.notice = ""
                        return Ticket(made["room"]["room_id"], made["player"]["token"], made["room"]["name"])
                    continue
                action = parse_lobby_line(text, rooms=listing.get("rooms", []), drafts=listing.get("drafts", []),
                                          read_file=read_saved_file)
                self.notice = ""
                if isinstance(action, Problem):
                    problem = action.text
                elif isinstance(action, Local):
                    if action.action == "quit":
                        raise Quit
                    if action.action == "help":
                        help_shown = True
                    else:
                        listing = await lobby.get_rooms()
                elif isinstance(action, Rename):
                    self.name, self.notice = action.name, f"You are now {action.name}."
                elif isinstance(action, StartCreating):
                    form = CreateForm(self.name)
                    try:
                        form.draft_id = await lobby.start_draft()  # others see "a room is being created"
                    except ServerError:
                        form.draft_id = None  # a limit on drafts: creating still works
                elif isinstance(action, WaitForDraft):
                    try:
                        await lobby.wait_for_draft(action.draft_id)
                        waiting_for = action.draft_id
                    except ServerError as error:
                        problem = lobby_error_text(error, self.name)
                elif isinstance(action, JoinRoom):
                    try:
                        joined = await lobby.join_room(action.room_id, self.name)
                    except ServerError as error:
                        problem = lobby_error_text(error, self.name)
                        continue
                    return Ticket(joined["room"]["room_id"], joined["player"]["token"], joined["room"]["name"])
                elif isinstance(action, LoadGame):
                    return Ticket(action.room_id, action.token)
        finally:
            closed.cancel()

    # a seat -----------------------------------------------------------------------------------

    async def play(self, ticket: Ticket) -> Ticket | None:
        """Sit at the table until the person leaves, the game ends and they go back, or the seat is lost.

        Return the seat of the rematch the person asked for or joined, if any.
        """
        table = TableModel(room_name=ticket.room_name, room_id=ticket.room_id)
        ui = UiState()
        changed = asyncio.Event()
        follow_ups: set[str] = set()
        last_frame_at = time.monotonic()

        def on_frame(frame: dict) -> None:
            follow_ups.update(table.accept(frame))
            changed.set()

        seat = SeatClient(self.ws_url, ticket.room_id, ticket.token, on_frame=on_frame, max_attempts=None)
        runner = asyncio.ensure_future(seat.run())
        asked_status_at = 0.0
        status_wanted = False
        left_with: Path | None = None
        try:
            while not runner.done():
                ui.connection = ("connected" if seat.connected.is_set()
                                 else "connecting" if not table.began and seat.reconnects == 0 else "reconnecting")
                if seat.state.over is not None:
                    break
                self._draw_seat(table, seat.state, ui)
                changed.clear()
                line_task = self.next_line_task()
                changed_task = asyncio.ensure_future(changed.wait())
                await asyncio.wait({line_task, changed_task, runner}, timeout=0.25 if status_wanted else 1.0,
                                   return_when=asyncio.FIRST_COMPLETED)
                changed_task.cancel()
                if changed_task.done():
                    last_frame_at = time.monotonic()
                if "refused" in follow_ups:
                    ui.problem = f"The server refused: {table.refused['payload']['prompt']}"
                if "reprompt" in follow_ups:
                    seat.state.answered = None  # refused, so still pending: offer it again (INVALID, NOT_IN_HAND)
                if "saved" in follow_ups and ui.leaving:
                    left_with = await self._save_and_leave(seat, table, ticket)
                now = time.monotonic()
                status_wanted = status_wanted or "status" in follow_ups or (
                    table.paused and now - asked_status_at > PAUSED_STATUS_EVERY)
                follow_ups.clear()
                # A snapshot drops frames in flight that it already reflects (docs/protocol.md "Snapshots
                # and the group"), and the log would miss them: ask only once the stream has gone quiet.
                if status_wanted and now - last_frame_at > STATUS_QUIET and seat.connected.is_set() \
                        and not ui.leaving:
                    status_wanted, asked_status_at = False, now
                    await self._send(seat, ui, Send(ClientCmd.GET_GAME_STATUS))
                if line_task.done():
                    if await self._typed(self.take_line(), seat, table, ui) == "lobby":
                        break
        finally:
            await seat.stop()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
        return await self._after_seat(seat, table, ticket, left_with)

    def can_vote(self, table: TableModel, ui: UiState) -> bool:
        vote = table.vote or {}
        return table.paused and bool(vote.get("seats")) and table.seat in vote.get("waiting_for", []) \
            and not ui.voted and not ui.leaving

    def _draw_seat(self, table: TableModel, state: SeatState, ui: UiState) -> None:
        if not table.began:
            self.screen.show(render_waiting_room(table, ui, self.name, self.palette), "> ")
            return
        can_vote = self.can_vote(table, ui)
        prompt = None if table.paused else (state.current_prompt or {}).get("payload")
        self.screen.show(render_table(table, state, ui, cards=self.cards, can_vote=can_vote, palette=self.palette),
                         table_label(prompt, table, ui, can_vote))

    async def _typed(self, text: str, seat: SeatClient, table: TableModel, ui: UiState) -> str | None:
        """Do what a typed line says; return "lobby" to leave the table."""
        ui.problem = ui.notice = ""
        if not table.began:
            action = parse_command(text.strip()) or Problem("The game has not begun: /leave or /quit.")
            if isinstance(action, Local) and action.action == "leave":
                action = Send(ClientCmd.LEAVE_REQUEST)  # before the game, leaving only frees the seat
            elif isinstance(action, Send) and action.cmd != ClientCmd.LEAVE_REQUEST:
                action = Problem("Chat opens when the game begins.")
        else:
            prompt = None if table.paused else (seat.state.current_prompt or {}).get("payload")
            action = parse_table_line(text, prompt=prompt, hand=seat.state.hand, paused=table.paused,
                                      can_vote=self.can_vote(table, ui), confirming_leave=ui.confirming_leave,
                                      call_last_card=ui.call_last_card)
        ui.confirming_leave = False
        if isinstance(action, Problem):
            ui.problem = action.text
        elif isinstance(action, Local):
            if action.action == "quit":
                raise Quit
            if action.action == "lobby":
                return "lobby"
            if action.action == "call":
                ui.call_last_card = not ui.call_last_card
            elif action.action == "leave":
                if table.paused:  # the choice is the question: no second confirmation (as the page)
                    await self._send(seat, ui, Send(ClientCmd.LEAVE_REQUEST))
                    ui.leaving = True
                else:
                    ui.confirming_leave = True
            elif action.action == "help":
                ui.notice = "Numbers play cards · d draws · ! calls last card · /say TEXT · /leave · /quit"
            elif action.action == "rematch":
                ui.notice = "A rematch can be asked for once the game is over: /rematch on the result screen."
            elif action.action == "cancel":
                ui.notice = "You stay."
        elif isinstance(action, Answer):
            if await self._answer(seat, ui, action.data):
                ui.call_last_card = False
        elif isinstance(action, Send):
            await self._send(seat, ui, action)
            if action.cmd == ClientCmd.LEAVE_REQUEST and table.began:
                ui.leaving = True
            elif action.cmd == ClientCmd.ADD_COMPUTER:
                ui.voted = True
        return None

    async def _answer(self, seat: SeatClient, ui: UiState, data) -> bool:
        try:
            await seat.answer(data)
        except (ConnectionError, RuntimeError, OSError):
            ui.problem = "Not connected: your answer was not sent. It will be asked again."
            seat.state.answered = None
            return False
        return True

    async def _send(self, seat: SeatClient, ui: UiState, action: Send) -> None:
        try:
            await seat.send(action.cmd, action.payload)
        except (ConnectionError, OSError):
            ui.problem = "Not connected: nothing was sent."

    async def _save_and_leave(self, seat: SeatClient, table: TableModel, ticket: Ticket) -> Path | None:
        """PLAYER_STATE came after our LEAVE_REQUEST: keep the game in a file, then LEAVE (Scenario B)."""
        others = [p for p in table.players if p["seat"] != table.seat and not p["is_computer"]
                  and p["seat"] not in (table.vote or {}).get("seats", [])]
        path = None
        if others:  # the last person leaving gets no file: the room closes, the code would open nothing
            path = write_saved_game(self.save_dir, saved_game(ticket.room_id, ticket.token, seat.state.view))
        with contextlib.suppress(ConnectionError, OSError):
            await seat.send(ClientCmd.LEAVE)
        return path

    async def _after_seat(self, seat: SeatClient, table: TableModel, ticket: Ticket,
                          left_with: Path | None) -> Ticket | None:
        """Say how the seat ended: a result to read, the saved game, or why the seat is closed.

        On the result screen `/rematch` asks for the rematch (or joins the one offered) and
        returns its seat.
        """
        if seat.state.over is not None:
            ui_problem = ""
            while True:
                lines = render_result(table, seat.state.over, table.seat, self.palette)
                self.screen.show(lines + [self.palette.paint(ui_problem, "warn")], "over> ")
                await self.next_line_task()
                text = self.take_line().strip().lower()
                if text in ("/quit", "q"):
                    raise Quit
                if text == "/rematch":
                    try:
                        joined = await rematch(self.ws_url, ticket.room_id, ticket.token)
                    except ServerError as error:
                        ui_problem = lobby_error_text(error, self.name)
                        continue
                    except (OSError, ConnectionError, TimeoutError) as error:
                        ui_problem = f"Cannot reach the server ({error.__class__.__name__}): try /rematch again."
                        continue
                    self.notice = ""
                    return Ticket(joined["room"]["room_id"], joined["player"]["token"], joined["room"]["name"])
                self.notice = ""
                return None
        if left_with is not None:
            code = resume_code(ticket.room_id, ticket.token)
            self.notice = (f"You left. Your game is saved in {left_with}.\n"
                           f"Come back with: load {code}")
        elif seat.final_close == CLOSE_UNAUTHORIZED:
            self.notice = ("That seat cannot be opened now: the game may be paused (try again when it resumes), "
                           "or it has ended.")
        elif seat.final_close == CLOSE_OPENED_ELSEWHERE:
            self.notice = "Your seat was opened somewhere else."
        elif seat.final_close == CLOSE_ROOM_CLOSED:
            self.notice = "The room was closed."
        elif table.left and table.began:
            self.notice = "You left the game; nobody else was at the table, so it has ended."
        elif table.left:
            self.notice = "You left the room."
        else:
            self.notice = "You left the table; your seat stays yours until the game needs it."


def lobby_error_text(error: ServerError, name: str) -> str:
    texts = {
        ErrorCode.NAME_TAKEN: f'The name "{name}" is taken in that room: n NEWNAME changes yours.',
        ErrorCode.ROOM_FULL: "That room is full now.",
        ErrorCode.ROOM_NOT_FOUND: "That room is gone.",
    }
    return texts.get(error.code, f"The server refused: {error.frame['payload']['prompt']}")


def wire_deck() -> dict[int, dict]:
    """Every card's wire form by id (R1: ids never change meaning)."""
    return {card["id"]: card for card in WIRE}


async def run_terminal(url: str, *, name: str | None, colour: bool, save_dir: Path) -> None:
    """Play in this terminal until the person quits."""
    palette = Palette(enabled=colour and sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    app = TerminalApp(url, name=name, palette=palette, save_dir=save_dir, screen=Screen(),
                      lines=stdin_lines(asyncio.get_running_loop()), cards=wire_deck())
    await app.run()
