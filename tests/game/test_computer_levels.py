"""Computer levels through the server (docs/protocol.md "Computer levels"): chosen where
computers are made, shown in ROOMMATES and views, played at their level."""

import pytest
from channels.db import database_sync_to_async

from game.models import Game
from game.services import game_add_computer, game_leave, game_leave_request
from rooms import services as rooms_services
from rooms.models import Player
from tests.lobby.conftest import lobby  # noqa: F401 (a fixture)
from tests.lobby.helpers import room_payload

db = database_sync_to_async


async def test_create_a_room_with_hard_computers_shows_their_level(lobby, connect):
    creator = await lobby()
    reply = await creator.request("CREATE_A_ROOM", room_payload(num_of_players=3, computers=2, level="hard"))
    room_id, token = reply["payload"]["data"]["room"]["room_id"], reply["payload"]["data"]["player"]["token"]
    assert await db(lambda: list(Player.objects.filter(room_id=room_id).order_by("seat")
                                 .values_list("level", flat=True)))() == ["", "hard", "hard"]

    seat = await connect(room_id, token)
    await seat.hello()
    roommates = await seat.expect("ROOMMATES")
    assert [p["level"] for p in roommates["payload"]["data"]["players"]] == [None, "hard", "hard"]
    begin = await seat.expect("GAME_BEGIN")
    assert [p["level"] for p in begin["payload"]["data"]["players"]] == [None, "hard", "hard"]
    game = await db(Game.objects.get)(room_id=room_id)
    assert [r["level"] for r in game.seats] == [None, "hard", "hard"]


@pytest.mark.parametrize("level", ["expert", 3, ""])
async def test_an_unknown_level_is_invalid_and_creates_nothing(lobby, level):
    creator = await lobby()
    error = await creator.request("CREATE_A_ROOM", room_payload(computers=1, level=level), expect="ERROR")
    assert error["payload"]["data"] == {"code": "INVALID", "field": "level"}
    assert not await db(Player.objects.exists)()


@pytest.mark.django_db(transaction=True)
def test_a_game_against_hard_computers_plays_to_the_end(settings):
    """Every hard decision is searched (a small budget keeps the test short) and legal."""
    settings.GAME_SEED = 11
    settings.HARD_PLAYOUTS = 4
    settings.MAX_TURNS = 200
    room, ann = rooms_services.room_create(room_name="Hard", num_of_players=3, user_name="Ann", computers=2,
                                           level="hard")
    rooms_services.connection_open(channel_name="levels-ann", player_id=ann["player_id"])
    from tests.game.helpers import answer_for
    from game.services import game_answer

    for _ in range(300):
        game = Game.objects.get(room_id=room["room_id"])
        if game.status != "playing":
            break
        prompt = game.seats[0]["prompt"]
        game_answer(room_id=room["room_id"], seat=0, payload={
            "reply_to": prompt["msg_id"], "data": answer_for(prompt["payload"], game.state["hands"][0])})
    game = Game.objects.get(room_id=room["room_id"])
    assert game.status == "finished"
    # The computers played (their turns are in the log) and no card was lost (R16).
    played = [e for row in game.log.all() for e in row.events if e["event"] == "played" and e["seat"] in (1, 2)]
    assert played
    ids = game.state["market"] + game.state["pile"] + [c for hand in game.state["hands"] for c in hand]
    assert sorted(ids) == list(range(120))


@pytest.mark.django_db(transaction=True)
def test_the_lowest_level_voted_replaces_a_leaver(settings):
    settings.GAME_SEED = 5
    room, ann = rooms_services.room_create(room_name="Vote", num_of_players=3, user_name="Ann")
    bob = rooms_services.room_join(room_id=room["room_id"], user_name="Bob")[1]
    cid = rooms_services.room_join(room_id=room["room_id"], user_name="Cid")[1]
    for p in (ann, bob, cid):
        rooms_services.connection_open(channel_name=f"vote-{p['player_id']}", player_id=p["player_id"])
    room_id = room["room_id"]
    game_leave_request(room_id=room_id, seat=2, player_id=cid["player_id"])
    game_leave(room_id=room_id, seat=2)
    game_add_computer(room_id=room_id, seat=0, level="hard")
    game_add_computer(room_id=room_id, seat=1, level="easy")

    game = Game.objects.get(room_id=room_id)
    assert game.status == "playing"
    assert game.seats[2]["is_computer"] and game.seats[2]["level"] == "easy"
    assert Player.objects.get(pk=cid["player_id"]).level == "easy"
