"""The repository stands alone: nothing points outside it (docs/architecture.md).

No tracked file may cite the steering documents by their outside names or reach for the
folder beside the checkout; the project's own copies are docs/protocol.md, docs/rules.md and
docs/architecture.md.
"""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Built from pieces, so this file does not match itself.
OUTSIDE = re.compile("|".join([r"\.\./" + "shared", r"\b" + "PROTOCOL" + r"\.md", r"\b" + "DESIGN" + r"\.md",
                               r"\b" + "RULES" + r"\.md"]))

STILL_BEING_EDITED: set[str] = set()  # every file cites inside the repository now


def tracked_files() -> list[str]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in listing.decode().split("\0") if name]


def offenders() -> dict[str, list[str]]:
    found = {}
    for name in tracked_files():
        path = ROOT / name
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        hits = [line.strip() for line in text.splitlines() if OUTSIDE.search(line)]
        if hits:
            found[name] = hits
    return found


def test_nothing_points_outside_the_repository():
    found = offenders()
    unexpected = {name: hits[:3] for name, hits in found.items() if name not in STILL_BEING_EDITED}
    assert unexpected == {}


def test_the_allow_list_holds_only_files_that_still_need_it():
    found = offenders()
    assert sorted(STILL_BEING_EDITED - set(found)) == [], "these no longer cite outside: remove them from the list"


def test_the_projects_own_documents_exist_with_the_cited_sections():
    docs = ROOT / "docs"
    rules = (docs / "rules.md").read_text()
    for number in ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "R11a", "R11b", "R11c", "R12",
                   "R13", "R14", "R15", "R16", "R16a", "R17"]:
        assert re.search(rf"\*\*{number}\b", rules), number
    architecture = (docs / "architecture.md").read_text()
    for section in ("A move", "Cost follows changes", "Hidden information", "Concurrency", "Time", "Presence"):
        assert f"## {section}" in architecture, section
    protocol = (docs / "protocol.md").read_text()
    for section in ("Envelope", "Lobby", "Game handler", "Absence", "Leaving a game",
                    "Batching, listing limits, spectators, replays", "Security"):
        assert re.search(rf"^## {re.escape(section)}", protocol, re.M), section
    for term in ("Limits per address", "Origin", "Frame size", "Spectators", "Replays"):
        assert f"**{term}" in protocol, term
