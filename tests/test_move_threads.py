"""The moves' threads (lobby_site.move_threads): what a move's service call keeps of asgiref's hop."""

import asyncio
import threading

import psycopg
import pytest
from django.db import DatabaseError, connection, connections

from lobby_site.move_threads import MoveThreads, calling_loop


@pytest.fixture
def threads():
    made = []

    def make(count: int) -> MoveThreads:
        made.append(MoveThreads(count, name="test-move"))
        return made[-1]

    yield make
    for pool in made:
        pool.on_every_thread(connections.close_all)  # their connections, so the test database can be dropped


async def test_a_call_runs_on_a_move_thread_that_knows_the_loop_which_called_it(threads):
    pool = threads(2)

    def where() -> tuple[str, asyncio.AbstractEventLoop | None]:
        return threading.current_thread().name, calling_loop()

    name, loop = await pool.call(where)

    assert name.startswith("test-move-") and loop is asyncio.get_running_loop()
    assert calling_loop() is None  # only inside a call


async def test_a_calls_error_reaches_its_caller_and_the_thread_takes_the_next_call(threads):
    pool = threads(1)

    def refuse(reason: str):
        raise ValueError(reason)

    def add(a: int, b: int) -> int:
        return a + b

    with pytest.raises(ValueError, match="not your turn"):
        await pool.call(refuse, reason="not your turn")
    assert await pool.call(add, a=2, b=3) == 5


async def test_a_caller_cancelled_while_waiting_lets_its_call_finish_and_the_next_one_is_answered(threads):
    pool = threads(1)
    started, release, finished = threading.Event(), threading.Event(), []

    def slow():
        started.set()
        release.wait(timeout=10)
        finished.append(True)
        return "late"

    waiting = asyncio.ensure_future(pool.call(slow))
    await asyncio.to_thread(started.wait, 10)
    waiting.cancel()
    release.set()

    assert await pool.call(lambda: "next") == "next"  # one thread: it ran `slow` to its end first
    assert finished == [True] and waiting.cancelled()


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
async def test_a_thread_whose_connection_broke_refuses_one_call_and_reconnects_for_the_next(threads, monkeypatch):
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 60)  # kept between calls, as served
    pool = threads(1)
    first = await pool.call(_backend_pid)
    assert await pool.call(_backend_pid) == first
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k in ("dbname", "user", "host", "port", "password")},
                         autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [first])
        for _ in range(200):  # the backend ends on its own time, shortly after the signal
            if admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [first]).fetchone()[0] == 0:
                break
            await asyncio.sleep(0.025)

    with pytest.raises(DatabaseError):
        await pool.call(_backend_pid)
    second = await pool.call(_backend_pid)

    assert second != first
