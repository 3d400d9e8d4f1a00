"""A finished game told again from its public log (docs/protocol.md "Replays").

Pure Python, no database: `table_begin` takes the log's first event (`begin`: seat order,
names, hand counts, the start card, the market and pile sizes) and `table_apply` moves the
table on by one public event, so the table as it stood after any event can be rebuilt from
the log alone. The replay page (static/js/replay.js) does the same in the browser; the
`replay` command and the tests use these. `public_table` cuts the engine's view down to the
same fields, so the two can be compared.
"""

from __future__ import annotations

import copy

from game.engine import WIRE, GameState, view

TABLE_KEYS = ("players", "top_card", "market_count", "pile_count", "current_seat", "awaiting_seat",
              "pending_pick", "question", "turn_count", "over")


class NoBeginning(ValueError):
    """The log does not start with a `begin` event (a game from before replays were kept)."""


def table_begin(begin: dict) -> dict:
    """Return the table right after the deal, from the log's `begin` event."""
    if begin.get("event") != "begin":
        raise NoBeginning("the log does not start with the game's beginning")
    return {"players": [{"seat": p["seat"], "name": p["name"], "cards_left": p["cards_left"]} for p in begin["players"]],
            "top_card": begin["top_card"], "market_count": begin["market_count"], "pile_count": begin["pile_count"],
            "current_seat": None, "awaiting_seat": None, "pending_pick": None, "question": None, "turn_count": 0,
            "over": False}


def _next(table: dict, seat: int) -> int:
    return (seat + 1) % len(table["players"])


def _lay(table: dict, seat: int, cards: list[dict]) -> None:
    table["players"][seat]["cards_left"] -= len(cards)
    table["pile_count"] += len(cards)
    if cards:
        table["top_card"] = cards[-1]


def table_apply(table: dict, event: dict) -> dict:
    """Return the table after one public event (a new dict; `table` is left as it was).

    What no event says is inferred from the rules: a `question` goes round from the seat
    after the asker, each seat that draws for it passing the wait on to the next; the pick
    total is taken by a `drew` for the pick; a reshuffle leaves the top card on the pile and
    the market refilled with the rest (the draw it interrupted is counted by its `drew`).
    """
    table = copy.deepcopy(table)
    kind = event["event"]
    seat = event.get("seat")
    if kind == "turn":
        table.update(current_seat=seat, awaiting_seat=seat, question=None, turn_count=table["turn_count"] + 1)
    elif kind in ("played", "discarded"):
        _lay(table, seat, event["cards"])
        table["awaiting_seat"] = seat
    elif kind in ("gave", "lost_special"):
        _lay(table, seat, [event["card"]])
        if kind == "gave":
            table["question"] = None
    elif kind == "drew":
        table["players"][seat]["cards_left"] += event["count"]
        table["market_count"] -= event["count"]
        if event["reason"] == "pick":
            table["pending_pick"] = None
        elif event["reason"] == "question":
            table["awaiting_seat"] = _next(table, seat)
    elif kind == "reshuffled":
        table["market_count"] += event["count"]
        table["pile_count"] = 1
    elif kind == "pick_pending":
        table["pending_pick"] = {"symbol": event["symbol"], "total": event["total"]}
    elif kind == "question":
        table["question"] = {key: value for key, value in event.items() if key != "event"}
        table["awaiting_seat"] = _next(table, seat)
    elif kind == "game_over":
        table.update(awaiting_seat=None, pending_pick=None, question=None, over=True)
    elif kind == "computer_joined":
        pass  # the seat's name changes, not the table: names stay as the game began
    return table


def tables(start: dict, events: list[dict]) -> list[dict]:
    """Return the table after each of `events`, from the `begin` event `start`."""
    table, out = table_begin(start), []
    for event in events:
        table = table_apply(table, event)
        out.append(table)
    return out


def public_table(state: GameState) -> dict:
    """Return the engine's picture of the table without any hand: the fields a rebuilt table has."""
    seen = view(state, 0)
    return {"players": [{"seat": p["seat"], "cards_left": p["cards_left"]} for p in seen["players"]],
            "top_card": WIRE[state.pile[-1]], "market_count": seen["market_count"], "pile_count": seen["pile_count"],
            "current_seat": seen["current_seat"], "awaiting_seat": seen["awaiting_seat"],
            "pending_pick": seen["pending_pick"], "question": seen["question"], "turn_count": seen["turn_count"],
            "over": seen["outcome"] is not None}


def comparable(table: dict) -> dict:
    """Return a rebuilt table in `public_table`'s form (names left out)."""
    return {**table, "players": [{"seat": p["seat"], "cards_left": p["cards_left"]} for p in table["players"]]}
