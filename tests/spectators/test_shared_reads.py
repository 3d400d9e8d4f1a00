"""game/watchers.py `read_shared`: spectators asking at once share one read, never one begun before they asked."""

import asyncio
import threading

import pytest

from game.watchers import read_shared

# The reads here touch no table, but a shared read goes through `database_sync_to_async`, which
# looks at the ORM thread's connection first: run after a test that left that connection open,
# without database access it failed with "Database access not allowed".
pytestmark = pytest.mark.django_db(transaction=True)


class Reads:
    """A read that counts its calls and can be held once it has begun."""

    def __init__(self):
        self.calls = 0
        self.begun = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self) -> int:
        self.calls += 1
        self.begun.set()
        self.release.wait(10)
        return self.calls


async def wait_begun(reads: Reads) -> None:
    await asyncio.wait_for(asyncio.to_thread(reads.begun.wait, 10), timeout=11)


async def test_callers_asking_before_the_read_begins_share_it():
    blocker, reads = Reads(), Reads()
    blocker.release.clear()
    busy = asyncio.create_task(read_shared(("busy",), blocker))  # the database thread is busy meanwhile
    await wait_begun(blocker)
    waiting = [asyncio.create_task(read_shared(("open", 1), reads)) for _ in range(50)]
    await asyncio.sleep(0.05)
    blocker.release.set()
    assert await asyncio.gather(*waiting) == [1] * 50
    assert reads.calls == 1
    await busy


async def test_a_caller_asking_after_the_read_began_gets_a_read_of_its_own():
    reads = Reads()
    reads.release.clear()
    first = asyncio.create_task(read_shared(("open", 2), reads))
    await wait_begun(reads)  # what it reads may predate what the next caller must see
    second = asyncio.create_task(read_shared(("open", 2), reads))
    await asyncio.sleep(0.05)
    reads.release.set()
    assert (await first, await second) == (1, 2)


async def test_different_rooms_are_read_apart():
    reads = Reads()
    results = await asyncio.gather(read_shared(("open", 3), reads), read_shared(("roommates", 3), reads),
                                   read_shared(("open", 4), reads))
    assert sorted(results) == [1, 2, 3] and reads.calls == 3


async def test_a_failed_read_fails_every_caller_that_shared_it():
    def refused():
        raise LookupError("no such room")

    results = await asyncio.gather(*(read_shared(("open", 5), refused) for _ in range(3)), return_exceptions=True)
    assert [type(result) for result in results] == [LookupError] * 3


async def test_a_caller_going_away_leaves_the_read_to_the_others():
    reads = Reads()
    reads.release.clear()
    callers = [asyncio.create_task(read_shared(("open", 6), reads)) for _ in range(3)]
    await wait_begun(reads)
    callers[0].cancel()
    reads.release.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError) and results[1:] == [1, 1]


@pytest.fixture(autouse=True)
def no_database_needed(settings):
    settings.DB_THREADS = 1
