"""The game services called directly: a move costs a fixed handful of queries (no N+1)."""

import pytest

from game.models import Game
from game.services import game_answer, game_begin_if_ready
from rooms.models import Player
from rooms.services import connection_open, room_create
from tests.game.helpers import answer_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("computers", [1, 7])
def test_a_move_takes_a_fixed_number_of_queries(settings, django_assert_max_num_queries, computers):
    settings.GAME_SEED = 3
    room, _ = room_create(room_name="Queries", num_of_players=computers + 1, user_name="Ann", computers=computers)
    room_id = room["room_id"]
    connection_open(channel_name="q", kind="game", player_id=Player.objects.get(room_id=room_id, seat=0).pk)
    assert game_begin_if_ready(room_id=room_id)

    for _ in range(5):
        game = Game.objects.get(room_id=room_id)
        if game.status != "playing":
            break
        prompt = game.seats[0]["prompt"]
        hand = game.state["hands"][0]
        # Savepoint, lock + read the game, read the seats, insert the events, update the game
        # (and the room when it ends), release: however many computers played.
        with django_assert_max_num_queries(7):
            game_answer(room_id=room_id, seat=0, payload={"reply_to": prompt["msg_id"],
                                                         "data": answer_for(prompt["payload"], hand)})
