"""The CPU time of one move's service call, `game.services.game_answer`, without sockets.

Not a test. `moves.py` measures a move end to end, where the service shares one core with
the event loop, the load generator and the machine's swings; this measures the service alone,
so a change to it can be compared in a minute: rooms of 4 seats on a fresh SQLite file (or
`--database-url`), every move answered through `database_sync_to_async` from a running event
loop as the game consumer does (the sends after commit go to the in-memory layer's room group,
which nobody has joined). Prints the ORM thread's CPU time per call (`time.thread_time`, the
service and its commit) and the wall time per call seen from the loop (the hop included), and
on PostgreSQL the CPU its backend process ran for the call (/proc/<pid>/schedstat: the server
runs on this machine).

`--tables N` also measures what seating a table costs, the services four players' arrival
calls between two games (room_create, three room_join, four seat_hello, the presence writer's
four connections_apply, of which the last deals the game, and one connections_apply for the four
sockets closed after GAME_OVER): the ORM thread's CPU and the queries of each, and their sum a
table (bench/README.md, fifteenth session: at the capacity bench's edge, the tables seated
between games took more of the ORM threads than the moves did).

    .venv/bin/python bench/service.py [--rooms 25] [--moves 4000] [--tables 0] [--database-url URL]
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=25)
    parser.add_argument("--moves", type=int, default=4000)
    parser.add_argument("--warmup", type=int, default=200, help="moves left out of the figures")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--tables", type=int, default=0, help="tables seated after the moves (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{tmp}/service.sqlite3"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lobby_site.settings")
        os.environ.setdefault("DEBUG", "false")
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        cpu, wall, backend = asyncio.run(play(args.rooms, args.moves))
        seating = asyncio.run(seat_tables(args.tables)) if args.tables else None
    cpu, wall, backend = cpu[args.warmup:], wall[args.warmup:], backend[args.warmup:]
    print(f"game_answer, {len(cpu)} moves in rooms of 4 ({os.environ['DATABASE_URL'].split(':')[0]}): "
          f"ORM thread CPU mean {statistics.mean(cpu):.0f} µs, median {statistics.median(cpu):.0f} µs; "
          f"wall from the loop mean {statistics.mean(wall):.0f} µs")
    if None not in backend:
        print(f"  the database server's backend process CPU a move mean {statistics.mean(backend):.0f} µs")
    if seating:
        kept = args.tables - min(10, args.tables // 2)  # the first tables warm the caches up
        total = backend_total = 0.0
        for name, (calls, queries, backend_calls) in seating.items():
            calls = calls[-kept * len(calls) // args.tables:]
            per_table = sum(calls) / kept
            total += per_table
            backend_total += sum(backend_calls[-len(calls):]) / kept
            print(f"  {name:26} {len(calls) / kept:.0f} a table, ORM thread CPU mean {1e3 * statistics.mean(calls):.2f} ms,"
                  f" {queries:.1f} queries a call: {1e3 * per_table:.1f} ms a table")
        print(f"seating a table of 4, {kept} tables: ORM thread CPU {1e3 * total:.1f} ms a table"
              + (f", the database server's backend {1e3 * backend_total:.1f} ms" if backend_total else ""))


def backend_cpu_reader():
    """A function that reads how long (seconds) PostgreSQL's backend process for this thread's
    connection has run on a CPU, from /proc/<pid>/schedstat (the server runs on this machine);
    None on SQLite or where /proc cannot tell."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        path = f"/proc/{cursor.fetchone()[0]}/schedstat"

    def read() -> float:
        with open(path) as schedstat:
            return int(schedstat.read().split()[0]) / 1e9

    try:
        read()
    except OSError:
        return None
    return read


async def play(rooms: int, moves: int) -> tuple[list[float], list[float], list[float | None]]:
    """Answer `moves` prompts; each move's ORM-thread CPU, wall time from the loop and database
    backend CPU (None on SQLite), in µs."""
    from channels.db import database_sync_to_async

    from game.models import Game
    from game.services import game_answer, game_begin_if_ready
    from rooms.models import Player
    from rooms.services import connection_open, room_create, room_join
    from tests.game.helpers import answer_for

    def new_room(k: int) -> int:
        room, _ = room_create(room_name=f"service {k}", num_of_players=4, user_name="bot0")
        for seat in range(1, 4):
            room_join(room_id=room["room_id"], user_name=f"bot{seat}")
        for player in Player.objects.filter(room_id=room["room_id"]):
            connection_open(channel_name=f"bench-{player.pk}", player_id=player.pk)
        game_begin_if_ready(room_id=room["room_id"])
        return room["room_id"]

    def next_answer(room_id: int) -> dict | None:
        """The pending prompt's seat and a legal answer, read from the row (outside the timing)."""
        game = Game.objects.get(room_id=room_id)
        if game.status != Game.Status.PLAYING:
            return None
        seat = next(s for s, record in enumerate(game.seats) if record["prompt"])
        prompt = game.seats[seat]["prompt"]
        return {"room_id": room_id, "seat": seat,
                "payload": {"reply_to": prompt["msg_id"],
                            "data": answer_for(prompt["payload"], game.state["hands"][seat])}}

    def timed_answer(call: dict) -> tuple[float, float | None]:
        backend_started = read_backend() if read_backend else None
        started = time.thread_time()
        game_answer(**call)
        used = time.thread_time() - started
        return used, read_backend() - backend_started if read_backend else None

    playing = [await database_sync_to_async(new_room)(k) for k in range(rooms)]
    read_backend = await database_sync_to_async(backend_cpu_reader)()
    cpu, wall, backend, made = [], [], [], rooms
    while len(cpu) < moves:
        for index, room_id in enumerate(playing):
            call = await database_sync_to_async(next_answer)(room_id)
            if call is None:
                playing[index] = await database_sync_to_async(new_room)(made)
                made += 1
                continue
            started = time.perf_counter()
            used, backend_used = await database_sync_to_async(timed_answer)(call)
            wall.append(1e6 * (time.perf_counter() - started))
            cpu.append(1e6 * used)
            backend.append(None if backend_used is None else 1e6 * backend_used)
    return cpu, wall, backend


async def seat_tables(tables: int) -> dict[str, tuple[list[float], float, list[float]]]:
    """Seat `tables` tables of 4 as the lobby, the seat sockets and the presence writer do, then
    close their sockets as after GAME_OVER; return each service's CPU times, queries a call and
    the database backend's CPU times (zeros on SQLite)."""
    from channels.db import database_sync_to_async
    from django.db import connection

    from game.models import Game
    from game.services import seat_hello
    from rooms.models import Room
    from rooms.services import connections_apply, room_create, room_join

    cpu: dict[str, list[float]] = {}
    backend: dict[str, list[float]] = {}
    queries: dict[str, int] = {}
    read_backend = None

    def timed(name: str, service, **kwargs):
        def counted(execute, sql, params, many, context):
            queries[name] = queries.get(name, 0) + 1
            return execute(sql, params, many, context)

        backend_started = read_backend() if read_backend else 0.0
        started = time.thread_time()
        with connection.execute_wrapper(counted):
            result = service(**kwargs)
        cpu.setdefault(name, []).append(time.thread_time() - started)
        backend.setdefault(name, []).append(read_backend() - backend_started if read_backend else 0.0)
        return result

    def seat_table(k: int) -> None:
        room, creator = timed("room_create", room_create, room_name=f"table {k}", num_of_players=4, user_name="bot0")
        room_id = room["room_id"]
        tokens = [creator["token"]]
        for seat in range(1, 4):
            tokens.append(timed("room_join", room_join, room_id=room_id, user_name=f"bot{seat}")[1]["token"])
        hellos = [timed("seat_hello", seat_hello, room_id=room_id, token=token) for token in tokens]
        channels = [f"table-{k}-{hello['seat']['seat']}" for hello in hellos]
        for seat, (channel, hello) in enumerate(zip(channels, hellos)):  # one a batch, as the writer does unless busy
            name = "connections_apply (open)" if seat < 3 else "connections_apply (last open, deals)"
            timed(name, connections_apply, opened=[(channel, hello["seat"]["player_id"])])
        # The game is played elsewhere (the moves above); here it ends, and its four sockets close.
        Game.objects.filter(room_id=room_id).update(status=Game.Status.FINISHED)
        Room.objects.filter(pk=room_id).update(status=Room.Status.FINISHED)
        timed("connections_apply (close)", connections_apply, closed=channels)

    read_backend = await database_sync_to_async(backend_cpu_reader)()
    for k in range(tables):
        await database_sync_to_async(seat_table)(k)
    return {name: (calls, queries.get(name, 0) / len(calls), backend[name]) for name, calls in cpu.items()}


if __name__ == "__main__":
    main()
