"""Rematch (docs/protocol.md "Rematch"): REMATCH after GAME_OVER makes one new room, offers it to
the old game's people, JOIN_REMATCH seats them, and the seats open to everyone after
DRAFT_TIMEOUT. Services called directly, then the game socket on both channel layers."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async as db

from game.models import Game
from rooms import services as rooms_services
from rooms.clock import clock_tick
from rooms.models import Deadline, Player, Room
from rooms.services import (
    REMATCH_OPEN_KIND,
    REMATCH_SUFFIX,
    lobby_listing,
    rematch_join,
    rematch_name,
    room_create,
    room_join,
    room_rematch,
    token_hash,
)
from lobby_site.wire import ROOM_NAME_MAX, ProtocolError

# --- services ---------------------------------------------------------------------------------


def finished_room(*, humans: int = 2, computers: int = 1, name: str = "Table", level: str = "hard") -> tuple[int, list]:
    """Return (room_id, [tokens by human]) of a room whose game is over (set up, not played)."""
    room, creator = room_create(room_name=name, num_of_players=humans + computers, user_name="Ann",
                                computers=computers, level=level)
    tokens = [creator["token"]]
    for k in range(1, humans):
        tokens.append(room_join(room_id=room["room_id"], user_name=f"Bob {k}")[1]["token"])
    Room.objects.filter(pk=room["room_id"]).update(status=Room.Status.FINISHED)
    return room["room_id"], tokens


@pytest.mark.django_db(transaction=True)
class TestRematchServices:
    def test_the_first_rematch_makes_the_room_and_seats_the_asker(self):
        room_id, tokens = finished_room()
        made = room_rematch(room_id=room_id, seat=0, token=tokens[0])

        new = Room.objects.get(pk=made["room"]["room_id"])
        assert new.rematch_of_id == room_id and new.rematch_from == "Ann"
        assert new.name == "Table" + REMATCH_SUFFIX and new.num_of_players == 3 and new.status == "waiting"
        seats = {p.seat: p for p in Player.objects.filter(room=new)}
        assert sorted(seats) == [0, 1]  # the asker and the computer; seat 2 is kept for Bob
        assert seats[1].is_computer and seats[1].level == "hard" and seats[1].name == "Computer 1"
        assert made["player"]["seat"] == 0 and made["player"]["name"] == "Ann"
        assert seats[0].token_hash == token_hash(made["player"]["token"])
        assert Deadline.objects.filter(kind=REMATCH_OPEN_KIND, room=new, claimed_at__isnull=True).count() == 1

    def test_a_second_rematch_offers_the_first(self):
        room_id, tokens = finished_room()
        made = room_rematch(room_id=room_id, seat=0, token=tokens[0])
        again = room_rematch(room_id=room_id, seat=2, token=tokens[1])
        assert again == {"offer": {"room_id": made["room"]["room_id"], "from": "Ann"}}
        assert Room.objects.filter(rematch_of_id=room_id).count() == 1
        assert room_rematch(room_id=room_id, seat=0, token=tokens[0]) == again

    def test_join_rematch_takes_the_old_seat_and_answers_the_same_token_again(self):
        room_id, tokens = finished_room()
        made = room_rematch(room_id=room_id, seat=0, token=tokens[0])
        room, player = rematch_join(room_id=room_id, seat=2, token=tokens[1])
        assert player["seat"] == 2 and player["name"] == "Bob 1" and room["needed"] == 0
        assert rematch_join(room_id=room_id, seat=2, token=tokens[1])[1] == player
        assert rematch_join(room_id=room_id, seat=0, token=tokens[0])[1] == made["player"]
        assert Player.objects.filter(room_id=room["room_id"]).count() == 3

    def test_refusals(self):
        room, creator = room_create(room_name="Table", num_of_players=2, user_name="Ann", computers=1)
        with pytest.raises(ProtocolError) as error:
            room_rematch(room_id=room["room_id"], seat=0, token=creator["token"])
        assert error.value.code == "GAME_NOT_STARTED"
        Room.objects.filter(pk=room["room_id"]).update(status=Room.Status.PLAYING)
        with pytest.raises(ProtocolError) as error:
            room_rematch(room_id=room["room_id"], seat=0, token=creator["token"])
        assert (error.value.code, error.value.field) == ("INVALID", "cmd")
        Room.objects.filter(pk=room["room_id"]).update(status=Room.Status.FINISHED)
        with pytest.raises(ProtocolError) as error:
            rematch_join(room_id=room["room_id"], seat=0, token=creator["token"])
        assert error.value.code == "NO_PENDING_PROMPT"
        assert not Room.objects.filter(rematch_of_id=room["room_id"]).exists()

    def test_seats_are_kept_until_draft_timeout_then_open_to_all(self, settings):
        settings.DRAFT_TIMEOUT = 0.2
        room_id, tokens = finished_room()
        new_id = room_rematch(room_id=room_id, seat=0, token=tokens[0])["room"]["room_id"]
        with pytest.raises(ProtocolError) as error:
            room_join(room_id=new_id, user_name="Cleo")
        assert error.value.code == "ROOM_FULL"
        assert new_id not in [r["room_id"] for r in lobby_listing()["rooms"]]

        time.sleep(0.3)
        clock_tick()

        assert Room.objects.get(pk=new_id).reserved_until is None
        assert new_id in [r["room_id"] for r in lobby_listing()["rooms"]]
        _, cleo = room_join(room_id=new_id, user_name="Cleo")
        assert cleo["seat"] == 2
        with pytest.raises(ProtocolError) as error:  # Bob was too late
            rematch_join(room_id=room_id, seat=2, token=tokens[1])
        assert error.value.code == "ROOM_FULL"

    def test_a_rematch_everyone_left_is_replaced(self):
        room_id, tokens = finished_room(humans=2, computers=0)
        first = room_rematch(room_id=room_id, seat=0, token=tokens[0])
        rooms_services.seat_free(player_id=first["player"]["player_id"])  # Ann leaves the waiting room
        assert Room.objects.get(pk=first["room"]["room_id"]).status == "closed"
        second = room_rematch(room_id=room_id, seat=1, token=tokens[1])
        assert "room" in second and second["room"]["room_id"] != first["room"]["room_id"]
        assert Room.objects.get(rematch_of_id=room_id).pk == second["room"]["room_id"]

    def test_the_name_fits(self):
        assert rematch_name("Table") == "Table – rematch"
        long = rematch_name("x" * ROOM_NAME_MAX)
        assert len(long) == ROOM_NAME_MAX and long.endswith(REMATCH_SUFFIX)
        assert rematch_name(long) == long  # a rematch of a rematch keeps its name


# --- the game socket ----------------------------------------------------------------------------


async def finish(make_room, connect):
    """Play a game of Ann, Computer 1 (hard) and Player 1 to its end; return (room_id, [Ann, Player 1])."""
    room_id, tokens = await make_room(3, computers=1)
    await db(Player.objects.filter(room_id=room_id, is_computer=True).update)(level="hard")
    seats = [await connect(room_id, token) for token in tokens]
    for seat in seats:
        await seat.hello()
    for seat in seats:
        await seat.skip_to("GAME_BEGIN")
    await asyncio.gather(*(seat.play_until_over() for seat in seats))
    return room_id, seats


async def test_rematch_before_the_end_is_refused(make_room, connect):
    room_id, tokens = await make_room(2)
    ann = await connect(room_id, tokens[0])
    await ann.hello()
    refused = await ann.request("REMATCH", {}, expect="ERROR")
    assert refused["payload"]["data"]["code"] == "GAME_NOT_STARTED"
    bob = await connect(room_id, tokens[1])
    await bob.hello()
    await ann.skip_to("GAME_BEGIN")
    refused = await ann.request("REMATCH", {}, expect="ERROR")
    assert refused["payload"]["data"] == {"code": "INVALID", "field": "cmd"}
    refused = await ann.request("JOIN_REMATCH", {}, expect="ERROR")
    assert refused["payload"]["data"]["code"] == "INVALID"
    assert not await db(Room.objects.filter(rematch_of_id=room_id).exists)()


async def test_two_people_play_again(make_room, connect):
    room_id, (ann, bob) = await finish(make_room, connect)
    assert (await bob.request("JOIN_REMATCH", {}, expect="ERROR"))["payload"]["data"]["code"] == "NO_PENDING_PROMPT"

    joined = await ann.request("REMATCH", {}, expect="JOIN_ROOM_REP")
    room, player = joined["payload"]["data"]["room"], joined["payload"]["data"]["player"]
    assert room["name"] == "Table – rematch" and room["num_of_players"] == 3 and room["seated"] == 2
    assert player["seat"] == 0 and player["name"] == "Ann" and player["token"]

    offer = await bob.expect("REMATCH_OFFER")
    assert offer["payload"]["data"] == {"room_id": room["room_id"], "from": "Ann"}
    assert offer["payload"]["prompt"] == "Ann offers a rematch."
    await ann.quiet()  # the asker is answered, not offered
    again = await bob.request("REMATCH", {}, expect="REMATCH_OFFER")
    assert again["payload"]["data"] == offer["payload"]["data"]
    assert await db(Room.objects.filter(rematch_of_id=room_id).count)() == 1

    joined = await bob.request("JOIN_REMATCH", {}, expect="JOIN_ROOM_REP")
    bob_player = joined["payload"]["data"]["player"]
    assert bob_player["seat"] == 2 and bob_player["name"] == "Player 1"
    assert joined["payload"]["data"]["room"]["needed"] == 0
    computer = await db(Player.objects.get)(room_id=room["room_id"], seat=1)
    assert computer.is_computer and computer.level == "hard"

    # A fresh page of the old room hears the offer again after its RESUME.
    reload = await connect(room_id, bob.token)
    await reload.hello()
    await reload.expect("RESUME")
    assert (await reload.expect("REMATCH_OFFER"))["payload"]["data"]["room_id"] == room["room_id"]

    # The new room begins like any room once its people are connected.
    new_ann = await connect(room["room_id"], player["token"])
    new_bob = await connect(room["room_id"], bob_player["token"])
    await new_ann.hello()
    await new_bob.hello()
    for seat in (new_ann, new_bob):
        begin = await seat.skip_to("GAME_BEGIN")
        assert [p["name"] for p in begin["payload"]["data"]["players"]] == ["Ann", "Computer 1", "Player 1"]
    assert await db(Game.objects.filter(room_id=room["room_id"]).count)() == 1


async def test_spectators_cannot_ask_for_a_rematch(make_room, connect):
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    from lobby_site.routing import websocket_urlpatterns

    room_id, _ = await make_room(2)
    watcher = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/rooms/{room_id}/watch/")
    assert (await watcher.connect(timeout=20))[0]
    try:
        await watcher.receive_json_from(timeout=20)  # ROOMMATES
        for cmd in ("REMATCH", "JOIN_REMATCH"):
            await watcher.send_json_to({"cmd": cmd, "msg_id": 1})
            error = await watcher.receive_json_from(timeout=20)
            while error["cmd"] == "ROOMMATES":  # the waiting room pushes on every change, the spectator's own too
                error = await watcher.receive_json_from(timeout=20)
            assert error["cmd"] == "ERROR" and error["payload"]["data"]["code"] == "UNAUTHORIZED"
    finally:
        await watcher.disconnect()
