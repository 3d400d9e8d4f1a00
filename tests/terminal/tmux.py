"""Drive `manage.py play` in tmux, as a person at an 80×24 terminal would: type lines, read the screen.

Every session lives on a tmux server of its own socket (never the user's), killed afterwards.
The program runs with an empty environment but PATH: it must need no SECRET_KEY, no database.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.servers import ROOT

TMUX = "/usr/bin/tmux"
PROMPT_LABELS = ("play>", "name>", "give>", "discard>")


class Terminal:
    """One `manage.py play` in a detached 80×24 tmux session."""

    def __init__(self, url: str, name: str, save_dir: Path, *, colour: bool = False):
        self.socket = f"discard-test-{uuid.uuid4().hex[:10]}"
        self.session = name.lower()
        self.save_dir = save_dir
        args = [sys.executable, "manage.py", "play", "--url", url, "--name", name, "--save-dir", str(save_dir)]
        if not colour:
            args.append("--no-color")
        program = f"env -i PATH=/usr/bin:/bin TERM=xterm-256color {shlex.join(args)}; sleep 600"
        self._tmux("new-session", "-d", "-s", self.session, "-x", "80", "-y", "24", "-c", str(ROOT), program)

    def _tmux(self, *args: str) -> str:
        done = subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True, text=True, timeout=10)
        if done.returncode:
            raise RuntimeError(f"tmux {args[0]}: {done.stderr.strip()}")
        return done.stdout

    def type(self, line: str) -> None:
        """Type a line and press Enter."""
        self._tmux("send-keys", "-t", self.session, "-l", line)
        self._tmux("send-keys", "-t", self.session, "Enter")

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.session)

    def wait_for(self, pattern: str, timeout: float = 20) -> str:
        """Return the screen once `pattern` (a regex) is on it; fail showing the last screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout} s for {pattern!r}; the screen:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


def label(screen: str) -> str:
    """The input label on the last line holding anything (what a typed line will do)."""
    lines = [line for line in screen.splitlines() if line.strip()]
    return lines[-1].split(">")[0] + ">" if lines and ">" in lines[-1] else ""


def shown_msg_id(screen: str) -> int:
    found = re.search(r"· msg (\d+) ·", screen)
    return int(found.group(1)) if found else -1


def hand_section(screen: str) -> str:
    """The rows of the hand: from "Your hand (n):" to the first line that is not cards."""
    lines = screen.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Your hand ("))
    rows = []
    for line in lines[start + 1:]:
        if not re.match(r"^\s*\d+[* ]", line):
            break
        rows.append(line)
    return "\n".join(rows)


def answer_for(screen: str) -> str:
    """A legal answer typed from what the screen shows: the first card marked *, else draw;
    a name; the first cards for a discard. The last card is always called (R13: an unneeded
    call is ignored)."""
    kind = label(screen)
    marked = re.findall(r"(\d+)\*", hand_section(screen))
    if kind == "play>":
        return f"{marked[0]} !" if marked else "d"
    if kind == "give>":
        return marked[0]
    if kind == "name>":
        return "red"
    count = int(re.search(r"Type (\d+) card numbers? to discard", screen).group(1))
    held = int(re.search(r"Your hand \((\d+)\)", screen).group(1))
    return " ".join(str(n) for n in range(1, min(count, held) + 1)) + " !"


def play_to_the_end(terminals: list[Terminal], timeout: float = 150) -> dict[str, str]:
    """Answer every prompt on every terminal until each shows the result; return the result screens.

    A prompt is answered once: the screen's msg id must have moved past the one it was
    answered at (the next prompt of a seat always comes with a higher msg id).
    """
    answered_at = {t.session: -1 for t in terminals}
    results: dict[str, str] = {}
    answers = 0
    deadline = time.monotonic() + timeout
    while len(results) < len(terminals):
        assert time.monotonic() < deadline, "the game did not end in time:\n" + "\n".join(
            t.screen() for t in terminals if t.session not in results)
        for terminal in terminals:
            if terminal.session in results:
                continue
            screen = terminal.screen()
            if "Game over" in screen:
                results[terminal.session] = screen
                continue
            msg_id = shown_msg_id(screen)
            if label(screen) in PROMPT_LABELS and msg_id > answered_at[terminal.session]:
                assert "refused" not in screen, screen
                terminal.type(answer_for(screen))
                answered_at[terminal.session] = msg_id
                answers += 1
        time.sleep(0.05)
    assert answers > 0
    return results
