"""Helpers for game tests against running daphne processes: rooms made through the lobby
socket, seats over real WebSockets, and the database read directly."""

from __future__ import annotations

import json

import psycopg
import websockets

from game.engine import apply, new_game
from lobby_site.wire import answer_to_action, check_frame
from tests.game.helpers import TIMEOUT, WebsocketClient, card_objects


async def lobby_request(ws_url: str, cmd: str, payload: dict) -> dict:
    """Send one lobby command on a fresh lobby socket and return the data of its answer."""
    async with websockets.connect(f"{ws_url}/ws/lobby/", open_timeout=TIMEOUT) as socket:
        await socket.send(json.dumps({"cmd": cmd, "msg_id": 1, "payload": payload}))
        while True:
            message = json.loads(await socket.recv())
            check_frame(message)
            if message["reply_to"] == 1:
                assert message["cmd"] == f"{cmd}_REP", message
                return message["payload"]["data"]


async def room_with_seats(ws_url: str, num_of_players: int, humans: int | None = None,
                          computers: int = 0, name: str = "Table") -> tuple[int, list[str]]:
    """Create a room through the lobby and fill its human seats; return (room_id, tokens by seat)."""
    humans = num_of_players - computers if humans is None else humans
    created = await lobby_request(ws_url, "CREATE_A_ROOM", {"room_name": name, "num_of_players": num_of_players,
                                                            "user_name": "Ann", "computers": computers})
    room_id = created["room"]["room_id"]
    tokens = [created["player"]["token"]]
    for k in range(1, humans):
        joined = await lobby_request(ws_url, "JOIN_ROOM", {"room_id": room_id, "user_name": f"Player {k}"})
        tokens.append(joined["player"]["token"])
    return room_id, tokens


async def seated_clients(ws_url: str, room_id: int, tokens: list[str]) -> list[WebsocketClient]:
    """Connect and HELLO every token, in seat order; return the clients (read up to CONNECTED)."""
    clients = []
    for token in tokens:
        client = await WebsocketClient(ws_url, room_id, token).connect()
        await client.hello()
        clients.append(client)
    return clients


def game_row(database_url: str, room_id: int) -> dict:
    """Read a room's game straight from the database: {"state", "status", "seats", "events"} (log and chat)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT id, state, status, seats, event_count FROM game_game WHERE room_id = %s",
                           (room_id,)).fetchone()
        games = conn.execute("SELECT count(*) FROM game_game WHERE room_id = %s", (room_id,)).fetchone()[0]
        events = conn.execute("SELECT coalesce(sum(jsonb_array_length(events)), 0) FROM game_gamelog "
                              "WHERE game_id = %s", (row[0],)).fetchone()[0]
        # Chat lines are numbered public events kept in their own (capped) table, not the log.
        events += conn.execute("SELECT count(*) FROM game_chatline WHERE game_id = %s", (row[0],)).fetchone()[0]
    state = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    seats = row[3] if isinstance(row[3], list) else json.loads(row[3])
    return {"state": state, "status": row[2], "seats": seats, "event_count": row[4], "events": events,
            "games": games}


def replay_hands(num_players: int, seed: int, max_turns: int, answers: list[tuple]) -> tuple[list[set], list]:
    """Replay a game from its seed and answers; return the hands after the deal and after each event.

    The engine's events carry the drawers' cards, so the hands can be followed event by event.
    """
    state, events = new_game(num_players, seed, max_turns)
    hands = [set(hand) for hand in state.hands]
    dealt = [set(hand) for hand in hands]
    timeline = []

    def follow(batch):
        for event in batch:
            kind = event["event"]
            if kind == "drew":
                hands[event["seat"]].update(event["cards"])
            elif kind in ("played", "discarded"):
                hands[event["seat"]].difference_update(event["cards"])
            elif kind in ("gave", "lost_special"):
                hands[event["seat"]].discard(event["card"])
            timeline.append([set(hand) for hand in hands])

    follow(events)
    for seat, kind, data in answers:
        state, batch = apply(state, seat, answer_to_action(kind, data))
        follow(batch)
    assert hands == [set(hand) for hand in state.hands], "the replay lost track of a hand"
    return dealt, timeline


def leaked_cards(frames: list[dict], seat: int, dealt: list[set], timeline: list) -> list[tuple]:
    """Return (frame, card) for every card object sent to `seat` that another seat held at that moment."""
    leaks = []
    hands = dealt
    events_seen = 0
    for message in frames:
        if message["cmd"] == "GAME_EVENT":
            hands = timeline[events_seen]
            events_seen += 1
        for card in card_objects(message):
            for other, hand in enumerate(hands):
                if other != seat and card["id"] in hand:
                    leaks.append((message, card))
    return leaks
