"""What the game row keeps per seat (`Game.seats`): typed, so the services read fields, not strings.

A seat's record holds who sits there (so a move reads no Player rows), the seat's own msg_id
counter, its pending prompt, and its presence in the game. It is stored as plain JSON.
"""

from __future__ import annotations

from typing import TypedDict

# Earlier prompts remembered per seat: an answer to one of them is STALE_PROMPT rather than
# NOT_YOUR_TURN. A client only ever resends an answer to a recent prompt, so a few suffice,
# and the record stays the same size however long the game runs.
PAST_PROMPTS_KEPT = 8


class Prompt(TypedDict):
    msg_id: int
    payload: dict


class SeatRecord(TypedDict):
    player_id: int
    name: str
    is_computer: bool
    msg_id: int  # the seat's last msg_id (docs/protocol.md "Message ids")
    prompt: Prompt | None  # the decision the seat owes, as it was sent
    past: list[int]  # msg_ids of its last PAST_PROMPTS_KEPT earlier prompts
    away: bool  # no live connection (a person's seat)
    autoplay: bool  # away past AWAY_WAIT: the computer acts for it until it comes back
    human: str | None  # a computer took the seat from this person, who may reclaim it
    level: str | None  # a computer's level (easy, normal, hard); None for a person
    chat: list[float] | None  # the seat's chat budget: [tokens, at (epoch seconds)]; absent until it chats


def seat_record(*, player_id: int, name: str, is_computer: bool, level: str | None = None) -> SeatRecord:
    """Return the record of a seat at the deal."""
    return SeatRecord(player_id=player_id, name=name, is_computer=is_computer, msg_id=0, prompt=None,
                      past=[], away=False, autoplay=False, human=None,
                      level=(level or "normal") if is_computer else None)


def level_of(record: SeatRecord) -> str:
    """Return the level the computer strategy plays this seat at: its own, or normal for an away person."""
    return (record.get("level") or "normal") if record["is_computer"] else "normal"


def prompt_retire(record: SeatRecord) -> None:
    """Forget the seat's pending prompt (answered, replaced or cancelled); remember its msg_id."""
    if record["prompt"] is not None:
        record["past"] = [*record["past"], record["prompt"]["msg_id"]][-PAST_PROMPTS_KEPT:]
        record["prompt"] = None


def answers_for(record: SeatRecord) -> bool:
    """Say whether the computer strategy answers this seat's prompts (a computer, or autoplay)."""
    return record["is_computer"] or record["autoplay"]


def shown_players(records: list[SeatRecord]) -> list[dict]:
    """Return the seats as views show them: computers are always connected."""
    return [{"seat": seat, "name": r["name"], "is_computer": r["is_computer"],
             "connected": r["is_computer"] or not r["away"],
             "level": (r.get("level") or "normal") if r["is_computer"] else None} for seat, r in enumerate(records)]
