"""Every row of docs/protocol.md's lobby table, on the in-memory and the Redis channel layer."""

import pytest
import redis.asyncio
from channels.db import database_sync_to_async

from rooms import services
from rooms.models import Player, Room, RoomDraft
from tests.conftest import REDIS_PREFIX
from tests.lobby.helpers import room_payload, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


async def test_get_rooms_with_nothing_open_asks_to_create(lobby):
    client = await lobby()

    answer = await client.request("GET_ROOMS", {})

    assert answer["payload"]["data"] == {"rooms": [], "open_total": 0, "drafts": [], "drafts_total": 0}
    assert answer["payload"]["next_cmd"] == "CREATE_A_ROOM"


async def test_get_rooms_lists_open_rooms_only(lobby):
    client = await lobby()
    open_room, _ = await database_sync_to_async(services.room_create)(
        room_name="Open", num_of_players=3, user_name="Ann")
    await database_sync_to_async(services.room_create)(
        room_name="Full", num_of_players=2, user_name="Bob", computers=1)

    answer = await client.request("GET_ROOMS")

    assert answer["payload"]["data"]["rooms"] == [open_room]
    assert open_room["seated"] == 1 and open_room["needed"] == 2 and open_room["players"] == ["Ann"]
    assert answer["payload"]["next_cmd"] == "JOIN_ROOM"


async def test_get_rooms_with_only_a_draft_suggests_waiting(lobby):
    creator, other = await lobby(), await lobby()
    started = await creator.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED")

    answer = await other.request("GET_ROOMS", {})

    assert answer["payload"]["data"]["drafts"] == [started["payload"]["data"]]
    assert answer["payload"]["next_cmd"] == "WAIT_FOR_DRAFT"
    assert "being created" in answer["payload"]["prompt"]


async def test_start_room_draft_is_seen_by_everyone_in_the_lobby(lobby):
    creator, other = await lobby(), await lobby()

    started = await creator.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED")

    draft = started["payload"]["data"]
    assert set(draft) == {"draft_id", "since"} and draft["since"].endswith("Z")
    push = await other.push_until(lambda data: data["drafts"])
    assert push["payload"]["data"]["drafts"] == [draft]
    assert "being created" in push["payload"]["prompt"]


async def test_start_room_draft_twice_keeps_one_draft(lobby):
    creator = await lobby()

    first = await creator.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED")
    second = await creator.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED")

    assert first["payload"]["data"] == second["payload"]["data"]
    assert await database_sync_to_async(RoomDraft.objects.count)() == 1


async def test_cancel_room_draft_tells_the_waiters(lobby):
    creator, waiter = await lobby(), await lobby()
    draft_id = (await creator.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED"))["payload"]["data"]["draft_id"]
    await waiter.request("WAIT_FOR_DRAFT", {"draft_id": draft_id}, expect="WAITING_FOR_DRAFT")

    answer = await creator.request("CANCEL_ROOM_DRAFT", {"draft_id": draft_id}, expect="DRAFT_CANCELLED")

    assert answer["payload"]["data"] == {"draft_id": draft_id}
    told = await waiter.expect("DRAFT_CANCELLED")
    assert told["payload"]["data"] == {"draft_id": draft_id}
    assert told["payload"]["next_cmd"] == "CREATE_A_ROOM"
    await waiter.push_until(lambda data: data["drafts"] == [])
    await creator.assert_silent()  # the creator's answer came once, as the reply


async def test_wait_for_draft_is_told_the_room_the_moment_it_exists(lobby):
    creator, waiter = await lobby(), await lobby()
    draft_id = (await creator.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED"))["payload"]["data"]["draft_id"]

    waiting = await waiter.request("WAIT_FOR_DRAFT", {"draft_id": draft_id}, expect="WAITING_FOR_DRAFT")
    created = await creator.request("CREATE_A_ROOM", room_payload(draft_id=draft_id))

    assert waiting["payload"]["data"] == {"draft_id": draft_id}
    resolved = await waiter.expect("DRAFT_RESOLVED")
    assert resolved["payload"]["data"] == {"draft_id": draft_id, "room": created["payload"]["data"]["room"]}
    assert resolved["payload"]["next_cmd"] == "JOIN_ROOM"
    joined = await waiter.request("JOIN_ROOM", {"room_id": created["payload"]["data"]["room"]["room_id"],
                                                "user_name": "Bob"})
    assert joined["payload"]["data"]["player"]["seat"] == 1
    await creator.assert_silent()
    draft = await database_sync_to_async(RoomDraft.objects.get)(pk=draft_id)
    assert draft.status == "resolved" and draft.room_id == created["payload"]["data"]["room"]["room_id"]


async def test_wait_for_a_draft_that_already_ended_answers_at_once(lobby):
    creator, waiter = await lobby(), await lobby()
    resolved_id = (await creator.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED"))["payload"]["data"]["draft_id"]
    room = (await creator.request("CREATE_A_ROOM", room_payload(draft_id=resolved_id)))["payload"]["data"]["room"]
    cancelled_id = (await creator.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED"))["payload"]["data"]["draft_id"]
    await creator.request("CANCEL_ROOM_DRAFT", {"draft_id": cancelled_id}, expect="DRAFT_CANCELLED")

    await waiter.request("WAIT_FOR_DRAFT", {"draft_id": resolved_id}, expect="WAITING_FOR_DRAFT")
    resolved = await waiter.expect("DRAFT_RESOLVED")
    await waiter.request("WAIT_FOR_DRAFT", {"draft_id": cancelled_id}, expect="WAITING_FOR_DRAFT")
    cancelled = await waiter.expect("DRAFT_CANCELLED")

    assert resolved["payload"]["data"]["room"]["room_id"] == room["room_id"]
    assert cancelled["payload"]["data"] == {"draft_id": cancelled_id}
    await waiter.assert_silent()


async def test_create_without_draft_id_still_resolves_the_connections_draft(lobby):
    creator, waiter = await lobby(), await lobby()
    draft_id = (await creator.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED"))["payload"]["data"]["draft_id"]
    await waiter.request("WAIT_FOR_DRAFT", {"draft_id": draft_id}, expect="WAITING_FOR_DRAFT")

    created = await creator.request("CREATE_A_ROOM", room_payload())

    resolved = await waiter.expect("DRAFT_RESOLVED")
    assert resolved["payload"]["data"]["room"] == created["payload"]["data"]["room"]


async def test_drafts_end_when_their_creator_disconnects(lobby):
    creator, waiter = await lobby(), await lobby()
    draft_id = (await creator.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED"))["payload"]["data"]["draft_id"]
    await waiter.request("WAIT_FOR_DRAFT", {"draft_id": draft_id}, expect="WAITING_FOR_DRAFT")

    await creator.close()

    assert (await waiter.expect("DRAFT_CANCELLED"))["payload"]["data"] == {"draft_id": draft_id}
    await waiter.push_until(lambda data: data["drafts"] == [])


async def test_create_a_room_seats_the_creator_and_the_computers(lobby):
    creator, other = await lobby(), await lobby()

    answer = await creator.request("CREATE_A_ROOM", room_payload(num_of_players=4, computers=2))

    room, player = answer["payload"]["data"]["room"], answer["payload"]["data"]["player"]
    assert room["players"] == ["Ann", "Computer 1", "Computer 2"]
    assert (room["seated"], room["needed"], room["status"]) == (3, 1, "waiting")
    assert player["seat"] == 0 and player["name"] == "Ann" and len(player["token"]) >= 20
    stored = await database_sync_to_async(Player.objects.get)(
        room_id=room["room_id"], token_hash=services.token_hash(player["token"]), is_computer=False)
    assert stored.pk == player["player_id"]
    push = await other.push_until(lambda data: data["rooms"])
    assert push["payload"]["data"]["rooms"] == [room]
    assert push["payload"]["next_cmd"] == "JOIN_ROOM"


async def test_create_a_room_full_of_computers_is_not_listed(lobby):
    creator = await lobby()

    room = (await creator.request("CREATE_A_ROOM", room_payload(num_of_players=2, computers=1)))["payload"]["data"]["room"]

    assert room["needed"] == 0
    assert (await creator.request("GET_ROOMS"))["payload"]["data"]["rooms"] == []


async def test_join_room_takes_the_lowest_free_seat_and_never_renumbers(lobby):
    creator, joiner = await lobby(), await lobby()
    room = (await creator.request("CREATE_A_ROOM", room_payload(num_of_players=4)))["payload"]["data"]["room"]
    bob = (await joiner.request("JOIN_ROOM", {"room_id": room["room_id"], "user_name": "Bob"}))["payload"]["data"]
    cid = (await joiner.request("JOIN_ROOM", {"room_id": room["room_id"], "user_name": "Cid"}))["payload"]["data"]
    assert (bob["player"]["seat"], cid["player"]["seat"]) == (1, 2)
    await database_sync_to_async(services.seat_free)(player_id=bob["player"]["player_id"])

    dee = (await joiner.request("JOIN_ROOM", {"room_id": room["room_id"], "user_name": "Dee"}))["payload"]["data"]

    assert dee["player"]["seat"] == 1
    assert dee["room"]["players"] == ["Ann", "Dee", "Cid"]
    seats = await database_sync_to_async(lambda: dict(Player.objects.values_list("name", "seat")))()
    assert seats == {"Ann": 0, "Dee": 1, "Cid": 2}
    assert "token" in dee["player"] and dee["player"]["token"] != bob["player"]["token"]


async def test_join_room_that_fills_it_leaves_the_list(lobby):
    creator, joiner, watcher = await lobby(), await lobby(), await lobby()
    room = (await creator.request("CREATE_A_ROOM", room_payload(num_of_players=2)))["payload"]["data"]["room"]
    await watcher.push_until(lambda data: data["rooms"])

    joined = await joiner.request("JOIN_ROOM", {"room_id": room["room_id"], "user_name": "Bob"})

    assert joined["payload"]["data"]["room"]["needed"] == 0
    await watcher.push_until(lambda data: data["rooms"] == [])


async def test_rooms_changed_is_coalesced(lobby, settings):
    watcher, creator = await lobby(), await lobby()

    for k in range(15):
        await creator.request("CREATE_A_ROOM", room_payload(user_name=f"P{k}", room_name=f"R{k}"))

    await watcher.push_until(lambda data: len(data["rooms"]) == 15)
    await watcher.assert_silent(0.5)
    # 15 changes, at most one push per 0.2 s: fewer pushes than changes, the last one complete.
    assert 1 <= len(watcher.pushes) < 15
    assert [r["name"] for r in watcher.pushes[-1]["payload"]["data"]["rooms"]] == [f"R{k}" for k in range(15)]


async def test_rooms_changed_follows_seats_freed_by_the_server(lobby):
    watcher = await lobby()
    room, player = await database_sync_to_async(services.room_create)(room_name="T", num_of_players=3, user_name="Ann")
    await watcher.push_until(lambda data: data["rooms"])

    await database_sync_to_async(services.seat_free)(player_id=player["player_id"])

    await watcher.push_until(lambda data: data["rooms"] == [])
    status = await wait_for(lambda: Room.objects.get(pk=room["room_id"]).status)
    assert status == "closed"


@pytest.mark.parametrize("channel_layers", ["redis"], indirect=True)
async def test_a_lobby_socket_subscribes_to_the_channel_layer_only_once_it_starts_or_awaits_a_draft(
        lobby, redis_url):
    redis_client = redis.asyncio.Redis.from_url(redis_url)

    async def subscriptions() -> int:
        return len(await redis_client.pubsub_channels(f"{REDIS_PREFIX}*"))

    try:
        first = await lobby()
        await first.request("GET_ROOMS")
        listening = await subscriptions()  # the lobby group, heard by the process's publisher

        browsers = [await lobby() for _ in range(5)]
        for browser in browsers:
            await browser.request("GET_ROOMS")
        await browsers[0].request("CREATE_A_ROOM", room_payload())
        await browsers[1].request("JOIN_ROOM", {"room_id": (await browsers[1].request("GET_ROOMS"))[
            "payload"]["data"]["rooms"][0]["room_id"], "user_name": "Bob"})
        assert await subscriptions() == listening, "sockets that only list, create and join subscribed"

        draft_id = (await browsers[2].request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED"))[
            "payload"]["data"]["draft_id"]
        drafting = await subscriptions()
        assert drafting == listening + 2  # the drafter's channel, and the draft's group
        await browsers[3].request("WAIT_FOR_DRAFT", {"draft_id": draft_id}, expect="WAITING_FOR_DRAFT")
        assert await subscriptions() == drafting + 1  # the waiter's channel

        await browsers[2].request("CREATE_A_ROOM", room_payload("Cy", draft_id=draft_id))
        assert (await browsers[3].expect("DRAFT_RESOLVED"))["payload"]["data"]["draft_id"] == draft_id
    finally:
        await redis_client.aclose()
