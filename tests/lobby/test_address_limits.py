"""Limits per address (docs/protocol.md "Limits per address"): ROOMS_PER_ADDRESS open rooms and
DRAFTS_PER_ADDRESS open drafts per client address, counted in the creating transaction."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from rooms import services
from rooms.models import Room, RoomDraft
from tests.lobby.helpers import room_payload, snapshot

pytestmark = pytest.mark.django_db(transaction=True)

ADA, BOB = "198.51.100.7", "203.0.113.9"


async def refused(client, cmd: str, payload: dict | None = None) -> dict:
    before = await snapshot()
    data = await client.error(cmd, payload)
    assert await snapshot() == before  # nothing was created
    return data


async def test_an_address_has_at_most_rooms_per_address_open_rooms(lobby, settings):
    settings.ROOMS_PER_ADDRESS = 2
    first, second, other = await lobby(ADA), await lobby(ADA), await lobby(BOB)
    await first.request("CREATE_A_ROOM", room_payload())
    await second.request("CREATE_A_ROOM", room_payload())  # another socket, the same address

    error = await refused(first, "CREATE_A_ROOM", room_payload())
    assert (error["code"], error["field"]) == ("LIMIT_REACHED", "rooms_per_address")
    assert (await refused(second, "CREATE_A_ROOM", room_payload()))["code"] == "LIMIT_REACHED"
    await other.request("CREATE_A_ROOM", room_payload())  # another address is not affected
    assert await database_sync_to_async(Room.objects.filter(address=ADA).count)() == 2


async def test_a_finished_or_closed_room_no_longer_counts(lobby, settings):
    settings.ROOMS_PER_ADDRESS = 1
    client = await lobby(ADA)
    room = (await client.request("CREATE_A_ROOM", room_payload()))["payload"]["data"]["room"]
    assert (await client.error("CREATE_A_ROOM", room_payload()))["code"] == "LIMIT_REACHED"
    await database_sync_to_async(services.room_close)(room_id=room["room_id"])
    await client.request("CREATE_A_ROOM", room_payload())


async def test_an_address_has_at_most_drafts_per_address_open_drafts(lobby, settings):
    settings.DRAFTS_PER_ADDRESS = 2
    a, b, c, other = await lobby(ADA), await lobby(ADA), await lobby(ADA), await lobby(BOB)
    draft = (await a.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED"))["payload"]["data"]
    await b.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED")
    # A connection's own open draft is returned again, not counted twice.
    again = (await a.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED"))["payload"]["data"]
    assert again["draft_id"] == draft["draft_id"]

    error = await refused(c, "START_ROOM_DRAFT", {})
    assert (error["code"], error["field"]) == ("LIMIT_REACHED", "drafts_per_address")
    await other.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED")

    await a.request("CANCEL_ROOM_DRAFT", {"draft_id": draft["draft_id"]}, expect="DRAFT_CANCELLED")
    await c.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED")  # a cancelled draft frees its place
    assert await database_sync_to_async(RoomDraft.objects.filter(address=ADA, status="open").count)() == 2


async def test_behind_a_trusted_proxy_the_forwarded_address_is_limited(lobby, settings):
    from lobby_site.security import parse_networks

    settings.ROOMS_PER_ADDRESS = 1
    settings.TRUSTED_PROXY_NETWORKS = parse_networks(["10.0.0.1"])
    proxied = [(b"x-forwarded-for", ADA.encode())]
    first, second = await lobby("10.0.0.1", proxied), await lobby("10.0.0.1", proxied)
    other = await lobby("10.0.0.1", [(b"x-forwarded-for", BOB.encode())])
    await first.request("CREATE_A_ROOM", room_payload())
    assert (await second.error("CREATE_A_ROOM", room_payload()))["code"] == "LIMIT_REACHED"
    await other.request("CREATE_A_ROOM", room_payload())  # another player behind the same proxy
    # Without trust, a forged header is ignored: the peer's address is the one limited.
    settings.TRUSTED_PROXY_NETWORKS = []
    forged = await lobby("192.0.2.50", [(b"x-forwarded-for", "192.0.2.51".encode())])
    await forged.request("CREATE_A_ROOM", room_payload())
    assert await database_sync_to_async(Room.objects.filter(address="192.0.2.50").count)() == 1


async def test_creations_at_once_from_one_address_never_overshoot(lobby, settings):
    settings.ROOMS_PER_ADDRESS = 3
    clients = [await lobby(ADA) for _ in range(6)]
    answers = await asyncio.gather(*(_create(client) for client in clients))
    assert sorted(answers) == ["CREATE_A_ROOM_REP"] * 3 + ["ERROR"] * 3
    assert await database_sync_to_async(Room.objects.filter(address=ADA).count)() == 3


async def _create(client) -> str:
    await client.send("CREATE_A_ROOM", room_payload())
    while True:
        message = await client.receive()
        if message["cmd"] != "ROOMS_CHANGED":
            return message["cmd"]


def test_the_count_runs_in_the_creating_transaction(settings, transactional_db):
    """Services called directly (as the admin or a tool would) obey the limit too."""
    settings.ROOMS_PER_ADDRESS = 1
    services.room_create(room_name="T", num_of_players=2, user_name="Ann", address=ADA)
    with pytest.raises(services.ProtocolError) as refused_:
        services.room_create(room_name="T", num_of_players=2, user_name="Ann", address=ADA)
    assert refused_.value.code == "LIMIT_REACHED"
    services.room_create(room_name="T", num_of_players=2, user_name="Ann", address=None)  # unknown: not limited
