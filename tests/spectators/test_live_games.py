"""The lobby's list of games to watch: GET_LIVE_GAMES, and LIVE_GAMES_CHANGED when a game begins."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from lobby_site.routing import websocket_urlpatterns
from lobby_site.wire import check_frame
from rooms import services as rooms_services
from tests.game.helpers import TIMEOUT
from tests.lobby.helpers import reference_cycles_left_by

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


async def lobby_frames(lobby, until: str) -> dict:
    while True:
        message = json.loads(await lobby.receive_from(TIMEOUT))
        check_frame(message)
        if message["cmd"] == until:
            return message


async def test_live_games_lists_watchable_games_being_played_and_is_pushed_when_one_begins(make_room, connect,
                                                                                          watch):
    hidden, _ = await database_sync_to_async(rooms_services.room_create)(
        room_name="Hidden", num_of_players=2, user_name="Ann", watchable=False)
    lobby = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/lobby/")
    assert (await lobby.connect(TIMEOUT))[0]
    try:
        room_id, tokens = await make_room(2)
        seats = [await connect(room_id, token) for token in tokens]
        for seat in seats:
            await seat.hello()
        pushed = await lobby_frames(lobby, "LIVE_GAMES_CHANGED")
        assert [g["room_id"] for g in pushed["payload"]["data"]["games"]] == [room_id]

        watcher = await watch(room_id)
        await watcher.receive_frame("WATCHING")
        await lobby.send_to(text_data=json.dumps({"cmd": "GET_LIVE_GAMES", "msg_id": 7}))
        answer = await lobby_frames(lobby, "LIVE_GAMES_REP")
        assert answer["reply_to"] == 7
        assert answer["payload"]["data"] == {"games": [{"room_id": room_id, "name": "Table",
                                                        "players": ["Ann", "Player 1"], "spectators": 1}], "total": 1}
        assert hidden["room_id"] not in [g["room_id"] for g in answer["payload"]["data"]["games"]]
    finally:
        await lobby.disconnect()


def test_the_live_games_listing_leaves_no_reference_cycle_behind():
    from rooms.listing import live_games
    from rooms.models import Room

    for k in range(12):
        room, _ = rooms_services.room_create(room_name=f"Game {k}", num_of_players=2, user_name="Ann")
        rooms_services.room_join(room_id=room["room_id"], user_name="Bob")
    Room.objects.update(status=Room.Status.PLAYING)

    assert reference_cycles_left_by(live_games) == 0
    assert live_games()["games"][0]["players"] == ["Ann", "Bob"]
