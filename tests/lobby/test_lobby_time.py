"""The time machinery in one process: draft timeouts, seat grace, heartbeats, the deadline registry."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from rooms import clock, services
from rooms.models import Connection, Deadline, Player, Room, RoomDraft, ServerProcess
from tests.lobby.helpers import room_payload, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


async def test_draft_timeout_tells_the_creator_and_the_waiters(lobby, settings):
    settings.DRAFT_TIMEOUT = 0.3
    creator, waiter = await lobby(), await lobby()
    draft_id = (await creator.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED"))["payload"]["data"]["draft_id"]
    await waiter.request("WAIT_FOR_DRAFT", {"draft_id": draft_id}, expect="WAITING_FOR_DRAFT")

    assert (await waiter.expect("DRAFT_CANCELLED"))["payload"]["data"] == {"draft_id": draft_id}
    assert (await creator.expect("DRAFT_CANCELLED"))["payload"]["data"] == {"draft_id": draft_id}
    await waiter.push_until(lambda data: data["drafts"] == [])
    draft = await database_sync_to_async(RoomDraft.objects.get)(pk=draft_id)
    assert draft.status == "cancelled"


async def test_a_resolved_draft_does_not_time_out(lobby, settings):
    settings.DRAFT_TIMEOUT = 0.5
    creator, waiter = await lobby(), await lobby()
    draft_id = (await creator.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED"))["payload"]["data"]["draft_id"]
    await waiter.request("WAIT_FOR_DRAFT", {"draft_id": draft_id}, expect="WAITING_FOR_DRAFT")
    await creator.request("CREATE_A_ROOM", room_payload(draft_id=draft_id))
    await waiter.expect("DRAFT_RESOLVED")

    await creator.assert_silent(1.0)
    await waiter.assert_silent(0.1)
    assert await database_sync_to_async(Deadline.objects.filter(draft_id=draft_id).count)() == 0


async def test_a_seat_nobody_connects_to_is_freed_after_the_grace(lobby, settings):
    settings.DISCONNECT_GRACE = 1.0
    watcher, joiner = await lobby(), await lobby()
    room, ann = await database_sync_to_async(services.room_create)(room_name="T", num_of_players=3, user_name="Ann")
    await database_sync_to_async(services.connection_open)(channel_name="game.ann",
                                                           player_id=ann["player_id"])

    bob = (await joiner.request("JOIN_ROOM", {"room_id": room["room_id"], "user_name": "Bob"}))["payload"]["data"]
    await seen_after(watcher, ["Ann", "Bob"])

    await watcher.push_until(lambda data: data["rooms"] and data["rooms"][0]["players"] == ["Ann"])
    assert not await database_sync_to_async(Player.objects.filter(pk=bob["player"]["player_id"]).exists)()
    # Ann is connected, so her seat stays and the room stays open.
    assert (await database_sync_to_async(Room.objects.get)(pk=room["room_id"])).status == "waiting"


async def test_the_grace_counts_from_the_end_of_the_last_connection(lobby, settings):
    settings.DISCONNECT_GRACE = 0.5
    watcher = await lobby()
    room, ann = await database_sync_to_async(services.room_create)(room_name="T", num_of_players=3, user_name="Ann")
    await database_sync_to_async(services.connection_open)(channel_name="game.ann",
                                                           player_id=ann["player_id"])
    await watcher.assert_silent(0.8)  # past the grace counted from the join: she is still seated
    assert await database_sync_to_async(Player.objects.filter(pk=ann["player_id"]).exists)()

    await database_sync_to_async(services.connection_close)(channel_name="game.ann")

    await watcher.push_until(lambda data: data["rooms"] == [])
    # Ann was the last human: the room is closed.
    assert (await database_sync_to_async(Room.objects.get)(pk=room["room_id"])).status == "closed"


async def test_seat_grace_does_not_apply_once_the_game_has_begun(lobby, settings):
    settings.DISCONNECT_GRACE = 0.2
    await lobby()  # starts the clock
    room, ann = await database_sync_to_async(services.room_create)(room_name="T", num_of_players=2, user_name="Ann",
                                                                   computers=1)
    await database_sync_to_async(Room.objects.filter(pk=room["room_id"]).update)(status="playing")

    await wait_for(lambda: Deadline.objects.filter(kind="seat_grace", claimed_at__isnull=False).exists())

    assert await database_sync_to_async(Player.objects.filter(pk=ann["player_id"]).exists)()


async def test_the_draft_of_a_dead_process_is_swept(lobby, settings):
    waiter, creator = await lobby(), await lobby()
    draft_id = (await creator.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED"))["payload"]["data"]["draft_id"]
    kept = (await waiter.request("START_ROOM_DRAFT", {}, expect="DRAFT_STARTED"))["payload"]["data"]["draft_id"]
    await waiter.request("WAIT_FOR_DRAFT", {"draft_id": draft_id}, expect="WAITING_FOR_DRAFT")
    # As if the creator's process died: its draft names a process that stopped beating.
    stale = timezone.now() - timedelta(seconds=settings.HEARTBEAT_STALE + 1)
    await database_sync_to_async(ServerProcess.objects.create)(name="dead:1:x", beat=stale)
    await database_sync_to_async(RoomDraft.objects.filter(pk=draft_id).update)(process="dead:1:x")

    assert (await waiter.expect("DRAFT_CANCELLED"))["payload"]["data"] == {"draft_id": draft_id}
    # Only the dead process's draft ended: this process beats.
    assert (await database_sync_to_async(RoomDraft.objects.get)(pk=kept)).status == "open"


async def test_a_clock_sweeps_for_dead_processes_at_most_once_per_sweep_interval(channel_layers, settings):
    room, ann = await database_sync_to_async(services.room_create)(room_name="T", num_of_players=3, user_name="Ann")
    stale = timezone.now() - timedelta(seconds=settings.HEARTBEAT_STALE + 1)
    await database_sync_to_async(ServerProcess.objects.create)(name="dead:1:x", beat=stale)

    async def dead_connection(name: str) -> None:
        await database_sync_to_async(Connection.objects.create)(channel_name=name, player_id=ann["player_id"],
                                                                process="dead:1:x")

    async def alive(name: str) -> bool:
        return await database_sync_to_async(Connection.objects.filter(channel_name=name).exists)()

    settings.SWEEP_INTERVAL = 0
    await dead_connection("game.first")
    await database_sync_to_async(clock.clock_tick)()
    assert not await alive("game.first")

    settings.SWEEP_INTERVAL = 3600  # the tick just above swept: the next ones may not
    await dead_connection("game.second")
    await database_sync_to_async(clock.clock_tick)()
    assert await alive("game.second")

    settings.SWEEP_INTERVAL = 0
    await database_sync_to_async(clock.clock_tick)()
    assert not await alive("game.second")


async def test_an_idle_lobby_connection_writes_nothing(lobby):
    await lobby()
    assert await database_sync_to_async(Connection.objects.count)() == 0


async def seen_after(watcher, players: list[str]) -> None:
    """Wait for a push listing `players` in the first room, and forget the pushes before it."""
    await watcher.push_until(lambda data: data["rooms"] and data["rooms"][0]["players"] == players)
    watcher.pushes.clear()


async def test_a_stale_game_connection_starts_the_seat_grace(lobby, settings):
    settings.DISCONNECT_GRACE = 1.0
    watcher = await lobby()
    room, ann = await database_sync_to_async(services.room_create)(room_name="T", num_of_players=3, user_name="Ann")
    bob = (await watcher.request("JOIN_ROOM", {"room_id": room["room_id"], "user_name": "Bob"}))["payload"]["data"]
    for name, player in (("ann", ann), ("bob", bob["player"])):
        await database_sync_to_async(services.connection_open)(channel_name=f"game.{name}",
                                                               player_id=player["player_id"])
    await seen_after(watcher, ["Ann", "Bob"])
    # Bob's server process dies: it stops beating and no disconnect handler runs.
    # His grace counts from his process's last beat, so it is already over.
    stale = timezone.now() - timedelta(seconds=settings.HEARTBEAT_STALE + settings.DISCONNECT_GRACE)
    await database_sync_to_async(ServerProcess.objects.create)(name="dead:1:x", beat=stale)
    await database_sync_to_async(Connection.objects.filter(channel_name="game.bob").update)(process="dead:1:x")

    await watcher.push_until(lambda data: data["rooms"] and data["rooms"][0]["players"] == ["Ann"])

    assert not await database_sync_to_async(Player.objects.filter(pk=bob["player"]["player_id"]).exists)()
    assert await database_sync_to_async(Player.objects.filter(pk=ann["player_id"]).exists)()


async def test_registered_handlers_fire_once_and_a_failing_one_does_not_stop_the_clock(lobby):
    fired = []

    @clock.deadline_handler("test_probe")
    def probe(deadline):
        fired.append(deadline.data["n"])

    @clock.deadline_handler("test_broken")
    def broken(deadline):
        Room.objects.create(name="rolled back", num_of_players=2)
        raise RuntimeError("handler bug")

    try:
        now = timezone.now()
        schedule = database_sync_to_async(services.deadline_schedule)
        await schedule(kind="test_broken", due_at=now)
        for n in range(3):
            await schedule(kind="test_probe", due_at=now + timedelta(seconds=0.1 * n), data={"n": n})
        later = await schedule(kind="test_probe", due_at=now + timedelta(hours=1), data={"n": 99})
        await lobby()

        await wait_for(lambda: len(fired) == 3)
        await wait_for(lambda: Deadline.objects.filter(kind="test_broken", claimed_at__isnull=False).exists())

        assert sorted(fired) == [0, 1, 2]
        assert not await database_sync_to_async(Room.objects.filter(name="rolled back").exists)()
        counts = await database_sync_to_async(lambda: list(Deadline.objects.filter(
            claimed_at__isnull=False).values_list("fired_count", flat=True)))()
        assert counts == [1, 1, 1, 1]
        assert await database_sync_to_async(services.deadline_cancel)(kind="test_probe") == 1
        assert not await database_sync_to_async(Deadline.objects.filter(pk=later).exists)()
    finally:
        clock._handlers.pop("test_probe", None)
        clock._handlers.pop("test_broken", None)


def test_a_kind_has_one_handler():
    with pytest.raises(ValueError):
        clock.deadline_handler("draft_timeout")(lambda deadline: None)
