"""Fixtures of the game-handler tests: rooms made through the lobby services, seat
connections that are always closed, and the process clock stopped after each test."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from game.engine import GameState, parse_card, parse_cards
from game.seats import prompt_retire
from game import messages
from game.models import Game, GameLog
from rooms import services as rooms_services
from rooms.clock import stop_clock
from tests.game.helpers import TIMEOUT, CommunicatorClient

SEED = 20240611


@pytest.fixture(autouse=True)
def game_settings(settings):
    """A fixed seed (games replay), a slow roommate push unless a test wants it, a fast clock that sweeps at every tick."""
    settings.GAME_SEED = SEED
    settings.ROOMMATE_INTERVAL = 60
    settings.CLOCK_INTERVAL = 0.05
    settings.SWEEP_INTERVAL = 0
    settings.RATE_LIMIT = 1000
    return settings


@pytest.fixture
def make_room(transactional_db):
    """Return an async function making a room: (room_id, [tokens of the humans, by seat])."""

    async def make(num_of_players: int = 2, humans: int | None = None, computers: int = 0):
        humans = num_of_players - computers if humans is None else humans
        room, creator = await database_sync_to_async(rooms_services.room_create)(
            room_name="Table", num_of_players=num_of_players, user_name="Ann", computers=computers)
        tokens = [creator["token"]]
        for k in range(1, humans):
            _, player = await database_sync_to_async(rooms_services.room_join)(
                room_id=room["room_id"], user_name=f"Player {k}")
            tokens.append(player["token"])
        return room["room_id"], tokens

    return make


@pytest.fixture
async def connect(channel_layers, transactional_db):
    """Return an async function opening a seat connection (HELLO not sent); all closed after."""
    clients: list[CommunicatorClient] = []

    async def open_seat(room_id: int, token: str) -> CommunicatorClient:
        client = await CommunicatorClient(room_id, token).connect()
        clients.append(client)
        return client

    yield open_seat
    for client in clients:
        await client.close()
    await stop_clock()


async def begun_game(make_room, connect, num_of_players: int) -> tuple[int, list]:
    """Begin an all-human game: every seat said HELLO and read up to its GAME_BEGIN."""
    room_id, tokens = await make_room(num_of_players)
    seats = [await connect(room_id, token) for token in tokens]
    for seat in seats:
        await seat.hello()
    for seat in seats:
        await seat.skip_to("GAME_BEGIN")
    return room_id, seats


@pytest.fixture
async def game2(make_room, connect):
    """A begun two-human game: both seats said HELLO and read up to their GAME_BEGIN."""
    return await begun_game(make_room, connect, 2)


async def event_of(seat, name: str) -> dict:
    """Read `seat`'s frames up to the GAME_EVENT `name`; return its data."""
    while True:
        message = await seat.receive()
        if message["cmd"] == "GAME_EVENT" and message["payload"]["data"]["event"] == name:
            return message["payload"]["data"]


async def settle(seats) -> None:
    """Read every seat's frames until the pending prompt has arrived somewhere.

    The seats are read side by side: read in turn, a seat with nothing to read would hold up
    the one whose prompt has arrived (tests with a short TURN_TIMEOUT need it read at once).
    """
    async def read_until_prompted(seat) -> None:
        while not any(s.prompt for s in seats):
            try:
                await seat.receive(0.05)
            except (TimeoutError, ConnectionError):
                pass

    await asyncio.wait_for(asyncio.gather(*(read_until_prompted(seat) for seat in seats)), TIMEOUT)


def game_row(room_id: int) -> dict:
    """Return what a refused request must not change: the game row and its event log."""
    game = Game.objects.get(room_id=room_id)
    return {"state": game.state, "version": game.version, "seats": game.seats, "status": game.status,
            "event_count": game.event_count, "log": GameLog.objects.filter(game=game).count()}


def install_state(room_id: int, hands: list[str], top: str, current: int, pending_pick: dict | None = None) -> None:
    """Set up a position: these hands and top card, `current` to play (test set-up, not a move).

    The rest of the deck becomes the market, so R16 holds; `current` gets a new turn prompt
    (read it with GET_GAME_STATUS).
    """
    game = Game.objects.get(room_id=room_id)
    state = GameState.from_json(game.state)
    state.hands = [parse_cards(hand) for hand in hands]
    state.pile = [parse_card(top)]
    used = {c for hand in state.hands for c in hand} | set(state.pile)
    state.market = [c for c in range(120) if c not in used]
    state.current, state.awaiting = current, {"kind": "turn", "seat": current}
    state.pending_pick, state.question = pending_pick, None
    state.turn_laid = state.turn_called = state.turn_active = False
    names = [name for name in game.room.players.order_by("seat").values_list("name", flat=True)]
    for info in game.seats:
        prompt_retire(info)
    info = game.seats[current]
    info["msg_id"] += 1
    info["prompt"] = {"msg_id": info["msg_id"], "payload": messages.new_prompt(state, current, names)}
    game.state = state.to_json()
    game.save()
