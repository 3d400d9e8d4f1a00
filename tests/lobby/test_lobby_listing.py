"""docs/protocol.md "Lobby listing": bounded rooms and drafts, totals, search, one build per change."""

import asyncio
import json
import threading
import time

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lobby_site.wire import check_frame
from rooms import listing, services
from rooms.listing import listing_publisher
from tests.lobby.helpers import TIMEOUT, reference_cycles_left_by, room_payload

pytestmark = pytest.mark.django_db(transaction=True)

create = database_sync_to_async(services.room_create)


async def make_rooms(*specs: tuple[str, int, int]) -> list[dict]:
    """Create rooms from (name, num_of_players, computers), oldest first; return them."""
    return [(await create(room_name=name, num_of_players=size, user_name="Ann", computers=computers))[0]
            for name, size, computers in specs]


async def test_rooms_listed_are_bounded_fewest_free_seats_first_then_oldest(lobby, settings):
    settings.ROOMS_LISTED = 3
    client = await lobby()
    three_free, two_free, one_free, three_free_newer, one_free_newer = await make_rooms(
        ("A", 4, 0), ("B", 3, 0), ("C", 2, 0), ("D", 4, 0), ("E", 3, 1))

    answer = await client.request("GET_ROOMS", {})

    data = answer["payload"]["data"]
    assert [r["name"] for r in data["rooms"]] == ["C", "E", "B"]
    assert data["open_total"] == 5
    assert answer["payload"]["prompt"].startswith("5 rooms are open")
    assert answer["payload"]["next_cmd"] == "JOIN_ROOM"


async def test_rooms_changed_carries_the_same_bounded_listing(lobby, settings):
    settings.ROOMS_LISTED = 2
    watcher = await lobby()

    await make_rooms(("A", 3, 0), ("B", 3, 0), ("C", 3, 0))

    push = await watcher.push_until(lambda data: data["open_total"] == 3)
    assert [r["name"] for r in push["payload"]["data"]["rooms"]] == ["A", "B"]


async def test_get_rooms_search_keeps_names_holding_it_case_insensitively(lobby):
    client = await lobby()
    await make_rooms(("Blue Table", 3, 0), ("red TABLE", 3, 0), ("Green", 3, 0), ("50% off", 3, 0))

    tables = (await client.request("GET_ROOMS", {"search": "  table "}))["payload"]
    percent = (await client.request("GET_ROOMS", {"search": "%"}))["payload"]["data"]
    nothing = (await client.request("GET_ROOMS", {"search": "purple"}))["payload"]

    assert [r["name"] for r in tables["data"]["rooms"]] == ["Blue Table", "red TABLE"]
    assert tables["data"]["open_total"] == 4  # every open room, whatever the search keeps
    assert '"table"' in tables["prompt"]
    assert [r["name"] for r in percent["rooms"]] == ["50% off"]  # a wildcard in SQL, literal here
    assert nothing["data"]["rooms"] == [] and nothing["next_cmd"] == "JOIN_ROOM"


@pytest.mark.parametrize("search", [5, ["a"], {"a": 1}, True, "x" * 41])
async def test_get_rooms_search_must_be_a_string_of_at_most_40_characters(lobby, search):
    client = await lobby()

    error = await client.error("GET_ROOMS", {"search": search})

    assert error == {"code": "INVALID", "field": "search"}


async def test_get_rooms_blank_search_lists_everything(lobby):
    client = await lobby()
    await make_rooms(("A", 3, 0), ("B", 3, 0))

    answer = await client.request("GET_ROOMS", {"search": "   "})

    assert [r["name"] for r in answer["payload"]["data"]["rooms"]] == ["A", "B"]


async def test_drafts_listed_are_the_oldest_twenty_with_their_total(lobby):
    client = await lobby()
    drafts = [await database_sync_to_async(services.draft_start)(channel_name=f"elsewhere.{k}") for k in range(23)]

    answer = await client.request("GET_ROOMS", {})

    data = answer["payload"]["data"]
    assert data["drafts"] == drafts[:20]
    assert data["drafts_total"] == 23
    assert "23 rooms are being created" in answer["payload"]["prompt"]
    assert answer["payload"]["next_cmd"] == "WAIT_FOR_DRAFT"


def test_listing_costs_the_same_queries_whatever_the_room_count(transactional_db):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            services.lobby_listing()
        return len(queries)

    for k in range(3):
        services.room_create(room_name=f"R{k}", num_of_players=4, user_name="Ann", computers=k % 3)
        services.draft_start(channel_name=f"c{k}")
    few = count_queries()
    for k in range(3, 80):
        services.room_create(room_name=f"R{k}", num_of_players=4, user_name="Ann", computers=k % 3)
        services.draft_start(channel_name=f"c{k}")

    assert count_queries() == few
    listing = services.lobby_listing()
    assert (len(listing["rooms"]), listing["open_total"]) == (50, 80)
    assert (len(listing["drafts"]), listing["drafts_total"]) == (20, 80)


def test_a_listing_leaves_no_reference_cycle_behind(transactional_db):
    # Prefetched players pointed back at their room: every room listed was a cycle of a dozen
    # objects that waited for a collection, which paused the process for 50–190 ms.
    for k in range(12):
        room, _ = services.room_create(room_name=f"R{k}", num_of_players=4, user_name="Ann")
        services.room_join(room_id=room["room_id"], user_name="Bob")

    assert reference_cycles_left_by(services.lobby_listing) == 0
    assert services.lobby_listing()["rooms"][0]["players"] == ["Ann", "Bob"]


def test_the_totals_are_read_from_the_same_snapshot_as_the_lists(transactional_db, monkeypatch):
    for k in range(3):
        services.room_create(room_name=f"R{k}", num_of_players=4, user_name="Ann")
    drafts_open = services.drafts_open
    failures: list[Exception] = []

    def drafts_while_another_connection_opens_a_room() -> list[dict]:
        drafts = drafts_open()  # the rooms are read; the totals are not yet

        def elsewhere() -> None:
            try:
                services.room_create(room_name="Later", num_of_players=4, user_name="Bob")
                services.draft_start(channel_name="elsewhere")
            except Exception as error:
                failures.append(error)
            finally:
                connection.close()

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        return drafts

    monkeypatch.setattr(services, "drafts_open", drafts_while_another_connection_opens_a_room)
    listing = services.lobby_listing()
    assert not failures
    assert (len(listing["rooms"]), listing["open_total"]) == (3, 3)
    assert (len(listing["drafts"]), listing["drafts_total"]) == (0, 0)

    monkeypatch.setattr(services, "drafts_open", drafts_open)
    listing = services.lobby_listing()
    assert (len(listing["rooms"]), listing["open_total"], listing["drafts_total"]) == (4, 4, 1)


async def test_one_change_is_built_and_encoded_once_for_a_hundred_connections(lobby):
    clients = [await lobby() for _ in range(100)]
    builds, encoded = listing_publisher.builds, listing_publisher.encoded

    await create(room_name="Table", num_of_players=3, user_name="Ann")

    texts = await asyncio.gather(*(c.communicator.receive_from(timeout=TIMEOUT) for c in clients))
    assert len(set(texts)) == 1
    message = json.loads(texts[0])
    check_frame(message)
    assert message["cmd"] == "ROOMS_CHANGED" and message["payload"]["data"]["open_total"] == 1
    await clients[0].assert_silent()
    assert (listing_publisher.builds - builds, listing_publisher.encoded - encoded) == (1, 1)


async def test_get_rooms_reuses_the_listing_until_something_changes(lobby):
    client = await lobby()
    await client.request("GET_ROOMS", {})
    builds = listing_publisher.builds

    await client.request("GET_ROOMS", {})
    reused = listing_publisher.builds - builds
    created = (await client.request("CREATE_A_ROOM", room_payload()))["payload"]["data"]["room"]
    # Asked at once, before this process may have heard the change's group event.
    after = await client.request("GET_ROOMS", {})

    assert reused == 0
    assert after["payload"]["data"]["rooms"] == [created]


async def test_a_change_is_read_for_its_push_only_after_it_settles(lobby, monkeypatch):
    """The push reads LOBBY_SETTLE after the change, not beside the changing players' own frames."""
    client = await lobby()
    reads: list[float] = []
    build = services.lobby_listing

    def timed_listing():
        reads.append(time.monotonic())
        return build()

    monkeypatch.setattr(services, "lobby_listing", timed_listing)
    monkeypatch.setattr(listing, "LOBBY_SETTLE", 0.5)  # far longer than the change takes here
    committed = time.monotonic()
    await create(room_name="Table", num_of_players=3, user_name="Ann")
    pushed = json.loads(await client.communicator.receive_from(timeout=TIMEOUT))

    assert pushed["cmd"] == "ROOMS_CHANGED" and pushed["payload"]["data"]["open_total"] == 1
    assert len(reads) == 1 and reads[0] - committed >= 0.5
