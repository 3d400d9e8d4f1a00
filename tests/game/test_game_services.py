"""The game services called directly: a move costs two database round trips, counted at the
driver (libpq's own trace of the wire messages), BEGIN and COMMIT included, however many
computer turns it sets off — one when the process kept the game its last move saved."""

import contextlib
import tempfile

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import close_old_connections, connection

from game import store
from game.models import ChatLine, Game, GameLog
from game.services import game_answer, game_begin_if_ready
from game.store import Change, game_read, game_save
from lobby_site import metrics
from lobby_site.wire import ErrorCode, ProtocolError
from rooms.models import Player
from rooms.services import connection_open, room_create
from tests.game.helpers import answer_for

pytestmark = pytest.mark.django_db(transaction=True)


@contextlib.contextmanager
def round_trips():
    """Count the round trips of the Django connection: every ReadyForQuery the server sends ends one.

    Yields a list that gets, when the block ends: the round trips, the trace's lines, and the
    statements the connection prepared in the block. Preparing a statement is a round trip of
    its own, once per statement and connection (lobby_site/settings.py DB_PREPARE_THRESHOLD),
    so those are left out of the count and listed apart.
    """
    assert connection.vendor == "postgresql", "the suite runs on PostgreSQL (.ci/test)"
    connection.ensure_connection()
    connection.close_at = None  # persistent, as a server's connection is (DB_CONN_MAX_AGE)
    pgconn = connection.connection.pgconn
    counted = []
    with tempfile.TemporaryFile(mode="w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE)
        try:
            yield counted
        finally:
            pgconn.untrace()
            trace.seek(0)
            lines = trace.read().splitlines()
            ready = sum(1 for line in lines if line.startswith("B\t") and "ReadyForQuery" in line)
            prepared = [_statement(line) for line in lines if _parses(line) and not _statement(line).startswith('""')]
            counted.extend([ready - len(prepared), lines, prepared])


def _parses(line: str) -> bool:
    """Whether a trace line is the client sending a Parse (a statement's text)."""
    fields = line.split("\t")
    return len(fields) > 3 and fields[0] == "F" and fields[2] == "Parse"


def _statement(line: str) -> str:
    """A Parse line's statement name and text ('"" …' when unnamed: parsed for this execution only)."""
    return line.split("\t")[3].strip()


def seated(humans: int, name: str, computers: int = 0) -> tuple[int, list[int]]:
    """Make a waiting room of `humans` people (nobody connected) and `computers` computers;
    return its id and the people's player ids in seat order."""
    from rooms.services import room_join

    room, _ = room_create(room_name=name, num_of_players=humans + computers, user_name="Ann", computers=computers)
    for k in range(1, humans):
        room_join(room_id=room["room_id"], user_name=f"P{k}")
    return room["room_id"], list(Player.objects.filter(room_id=room["room_id"], is_computer=False).order_by("seat")
                                 .values_list("pk", flat=True))


def begun(humans: int, computers: int) -> int:
    room_id, people = seated(humans, "Round trips", computers)
    for player_id in people:
        connection_open(channel_name=f"rt-{player_id}", player_id=player_id)
    assert Game.objects.filter(room_id=room_id).exists() or game_begin_if_ready(room_id=room_id)
    return room_id


@pytest.mark.parametrize(("humans", "computers"), [(2, 0), (1, 1), (1, 7)])
def test_a_move_is_two_round_trips_with_and_without_computers_and_one_from_the_kept_game(settings, humans,
                                                                                        computers):
    """The game began in a service that keeps nothing, so the first move reads the row; each
    move after it starts from the game the one before saved: its write is its only round trip."""
    settings.GAME_SEED = 3
    room_id = begun(humans, computers)
    moves, prepared = 0, []
    for _ in range(12):
        game = Game.objects.get(room_id=room_id)
        if game.status != "playing":
            break
        seat = next(s for s, record in enumerate(game.seats) if record["prompt"])
        prompt = game.seats[seat]["prompt"]
        hand = game.state["hands"][seat]
        log_rows = GameLog.objects.filter(game=game).count()
        with round_trips() as counted:
            close_old_connections()  # what database_sync_to_async does around every service call
            game_answer(room_id=room_id, seat=seat, payload={"reply_to": prompt["msg_id"],
                                                             "data": answer_for(prompt["payload"], hand)})
        trips, lines, prepared_now = counted
        assert trips == (2 if moves == 0 else 1), "\n".join(lines)
        prepared += prepared_now
        after = Game.objects.get(room_id=room_id)
        assert after.version == game.version + 1
        assert GameLog.objects.filter(game=game).count() == log_rows + 1  # one log row per move
        moves += 1
    assert moves >= 3
    assert len(prepared) == len(set(prepared)), prepared  # each prepared once on the connection


def test_a_move_is_one_group_send_for_its_seats_and_its_spectators(settings, monkeypatch):
    """With Redis each group send is a publish: a move's seats' parts and its public frames
    for the spectators go out together, to the room group, once."""
    from game import services
    from rooms.notify import room_group

    settings.GAME_SEED = 3
    room_id = begun(2, 0)
    sent = []
    monkeypatch.setattr(services, "send_on_commit", lambda group, message: sent.append((group, message)))
    seat, _ = move(room_id)
    [(group, message)] = sent
    assert group == room_group(room_id) and message["type"] == "room.frames"
    assert set(message["seats"]) == {"0", "1"}
    assert message["watch"]["type"] == "watch.frames" and message["watch"]["texts"]


def test_a_statement_sent_twice_on_a_connection_is_prepared_and_then_bound_without_its_text(settings):
    """The server parses and plans a statement's text only until the connection has sent it
    DB_PREPARE_THRESHOLD times; from then on a move binds the prepared statement by name."""
    settings.GAME_SEED = 3
    room_id = begun(2, 0)
    sent: dict[str, int] = {}
    bound_by_name = 0
    for _ in range(10):
        game = Game.objects.get(room_id=room_id)
        if game.status != "playing":
            break
        seat = next(s for s, record in enumerate(game.seats) if record["prompt"])
        payload = {"reply_to": game.seats[seat]["prompt"]["msg_id"],
                   "data": answer_for(game.seats[seat]["prompt"]["payload"], game.state["hands"][seat])}
        with round_trips() as counted:
            close_old_connections()
            game_answer(room_id=room_id, seat=seat, payload=payload)
        _, lines, prepared = counted
        for text in [_statement(line).removeprefix('""').strip() for line in lines if _parses(line)
                     and _statement(line).startswith('""')]:
            assert sent.get(text, 0) < django_settings.DB_PREPARE_THRESHOLD, f"parsed again: {text}"
            sent[text] = sent.get(text, 0) + 1
        for name_and_text in prepared:
            sent[name_and_text.split(" ", 1)[1]] = django_settings.DB_PREPARE_THRESHOLD
        bound_by_name += sum(1 for line in lines if line.startswith("F\t") and "\tBind\t" in line
                             and '"_pg3_' in line)
    assert bound_by_name >= 5


def move(room_id: int, seat: int | None = None):
    """Answer the pending prompt of `seat` (default: the seat the row is waiting for) as the row has it."""
    game = Game.objects.get(room_id=room_id)
    if seat is None:
        seat = next(s for s, record in enumerate(game.seats) if record["prompt"])
    prompt = game.seats[seat]["prompt"]
    payload = {"reply_to": prompt["msg_id"], "data": answer_for(prompt["payload"], game.state["hands"][seat])}
    game_answer(room_id=room_id, seat=seat, payload=payload)
    return seat, payload


def kept_version(room_id: int) -> int | None:
    """Return the version of the row this process kept for the room's next move, if any."""
    row = store._kept.get(room_id)
    return None if row is None else row[store._COLUMNS.index("version")]


def test_a_kept_game_behind_the_row_neither_refuses_a_good_answer_nor_takes_a_stale_one(settings):
    """The kept copy may lag the row (another process made the last move): a refusal it makes is
    checked again on a read, and an answer it takes loses the compare-and-set and is checked again."""
    settings.GAME_SEED = 3
    room_id = begun(2, 0)
    move(room_id)
    behind = store._kept[room_id]  # the row as the first move wrote it
    second_seat, second_payload = move(room_id)  # as if another process made it: put the old copy back
    store._kept[room_id] = behind
    row = Game.objects.get(room_id=room_id)
    waiting = next(s for s, record in enumerate(row.seats) if record["prompt"])
    stale_prompt = store.game_take_kept(room_id).seats[waiting]["prompt"]
    store._kept[room_id] = behind
    assert stale_prompt is None or stale_prompt["msg_id"] != row.seats[waiting]["prompt"]["msg_id"]
    move(room_id, waiting)  # the copy would refuse it (NOT_YOUR_TURN or STALE_PROMPT): the row takes it
    after_third = Game.objects.get(room_id=room_id)
    assert after_third.version == row.version + 1
    assert kept_version(room_id) == after_third.version
    store._kept[room_id] = behind  # the copy still waits for the second move's answer
    log_rows = GameLog.objects.filter(game=after_third).count()
    with pytest.raises(ProtocolError) as refused:
        game_answer(room_id=room_id, seat=second_seat, payload=second_payload)
    assert refused.value.code in (ErrorCode.STALE_PROMPT, ErrorCode.NOT_YOUR_TURN)
    unchanged = Game.objects.get(room_id=room_id)
    assert (unchanged.version, unchanged.state, unchanged.seats) == (after_third.version, after_third.state,
                                                                     after_third.seats)
    assert GameLog.objects.filter(game=after_third).count() == log_rows


@pytest.mark.parametrize(("humans", "computers"), [(2, 0), (1, 3)])
def test_the_kept_game_is_the_row_as_the_move_wrote_it(settings, humans, computers):
    settings.GAME_SEED = 5
    room_id = begun(humans, computers)
    for _ in range(6):
        move(room_id)
        if Game.objects.get(room_id=room_id).status != "playing":
            assert room_id not in store._kept  # a finished game is not kept
            break
        kept, read = store.game_take_kept(room_id), game_read(room_id)
        assert [getattr(kept, name) for name in store._COLUMNS] == [getattr(read, name) for name in store._COLUMNS]
        assert kept.pk == read.pk and kept.room_id == room_id


def test_any_other_save_drops_the_kept_game(settings):
    settings.GAME_SEED = 3
    room_id = begun(2, 0)
    move(room_id)
    assert room_id in store._kept
    game = game_read(room_id)
    assert game_save(game, Change(events=[{"event": "chat", "seat": 0, "name": "Ann", "text": "hi"}]), ())
    assert room_id not in store._kept
    move(room_id)  # read again, and kept again
    assert kept_version(room_id) == Game.objects.get(room_id=room_id).version


def test_a_move_from_a_kept_game_another_process_moved_on_is_made_again_from_a_read_and_counted(settings):
    """Another process saved the game after this one kept it (here a chat line, put back as if
    saved elsewhere): the answer the copy takes loses the compare-and-set, is made again from a
    read, and `discard_save_conflicts_total` counts it — the figure that shows how often the
    processes serving one room get in each other's way (docs/operations.md, nginx)."""
    settings.GAME_SEED = 3
    room_id = begun(2, 0)
    move(room_id)
    behind = store._kept[room_id]
    assert game_save(game_read(room_id), Change(events=[{"event": "chat", "seat": 0, "name": "Ann", "text": "hi"}]),
                     ())
    store._kept[room_id] = behind
    conflicts = metrics.SAVE_CONFLICTS._value.get()
    before = Game.objects.get(room_id=room_id)
    move(room_id)
    after = Game.objects.get(room_id=room_id)
    assert metrics.SAVE_CONFLICTS._value.get() == conflicts + 1
    assert after.version == before.version + 1
    assert after.event_count > before.event_count  # the move's events follow the chat line, none lost
    assert kept_version(room_id) == after.version


def test_a_save_that_lost_the_race_changes_nothing(settings):
    settings.GAME_SEED = 3
    room_id = begun(1, 1)
    first, second = game_read(room_id), game_read(room_id)
    first.pause = {"probe": 1}
    assert game_save(first, Change(events=[{"event": "chat", "seat": 0, "name": "Ann", "text": "a"}]), ("pause",))
    second.pause = {"probe": 2}
    assert not game_save(second, Change(events=[{"event": "chat", "seat": 0, "name": "Ann", "text": "b"}]),
                         ("pause",))
    stored = Game.objects.get(room_id=room_id)
    assert stored.pause == {"probe": 1}
    assert stored.version == first.version
    texts = list(ChatLine.objects.filter(game=stored).values_list("text", flat=True))  # chat's own table
    assert "a" in texts and "b" not in texts


def test_the_move_paths_json_columns_read_back_as_the_orm_writes_and_reads_them(settings):
    """The move path encodes and decodes the JSON columns itself (orjson, game/store.py), not
    through Django's JSONField: what it writes the ORM reads back unchanged, and the reverse."""
    settings.GAME_SEED = 3
    room_id = begun(1, 1)
    game = game_read(room_id)
    probe = {"text": "Zoë 🂡 \u2028 \x01 \"quoted\" \\", "nested": [[1, 2.5, None, True], {"k": []}], 7: "seven"}
    game.pause = probe
    event = {"event": "penalty", "seat": 0, "reason": "Łukasz's last card ✓"}
    assert game_save(game, Change(events=[event]), ("pause",))
    expected = {**{key: value for key, value in probe.items() if key != 7}, "7": "seven"}  # keys as JSON has them
    through_orm = Game.objects.get(room_id=room_id)
    assert through_orm.pause == expected
    assert GameLog.objects.filter(game=through_orm).order_by("-version").first().events == [event]
    assert game_read(room_id).pause == expected
    through_orm.pause = {"written": "by the ORM ✓", "list": [1, {"a": None}]}
    through_orm.save(update_fields=["pause"])
    assert game_read(room_id).pause == {"written": "by the ORM ✓", "list": [1, {"a": None}]}


def test_a_moves_game_row_is_written_compressed_with_lz4(settings):
    """Every move rewrites the game row (2-5 KB of JSON), which PostgreSQL compresses past
    ~2 KB: with lz4, not its slower default (game/migrations/0006)."""
    settings.GAME_SEED = 3
    room_id = begun(1, 7)  # eight seats: a row well past 2 KB
    game = Game.objects.get(room_id=room_id)
    seat = next(s for s, record in enumerate(game.seats) if record["prompt"])
    prompt = game.seats[seat]["prompt"]
    game_answer(room_id=room_id, seat=seat, payload={"reply_to": prompt["msg_id"],
                                                     "data": answer_for(prompt["payload"], game.state["hands"][seat])})
    with connection.cursor() as cursor:
        cursor.execute("SELECT version, pg_column_size(game_game.*), pg_column_compression(state), "
                       "pg_column_compression(seats), pg_column_compression(recent) FROM game_game "
                       "WHERE room_id = %s", [room_id])
        version, stored, *compressions = cursor.fetchone()  # stored: the row's bytes, compressed
    assert version == game.version + 1  # the row read is the one the move wrote
    assert stored > 2048 and "lz4" in compressions and set(compressions) <= {"lz4", None}, compressions


def test_a_log_row_is_indexed_by_its_id_and_its_game_and_version_only():
    """A move inserts one log row; each index is one more entry to write. The unique (game,
    version) leads with the game, so the game needs no index of its own (nor a chat line's)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, indexdef FROM pg_indexes WHERE tablename IN ('game_gamelog', 'game_chatline')")
        indexes = cursor.fetchall()
    columns = sorted((table, indexdef[indexdef.index("(") + 1:indexdef.rindex(")")]) for table, indexdef in indexes)
    assert columns == [("game_chatline", "game_id, seq"), ("game_chatline", "id"),
                       ("game_gamelog", "game_id, version"), ("game_gamelog", "id")]


def test_a_hello_in_a_waiting_room_is_two_reads_and_shows_the_seat_connected(settings):
    """HELLO before the game: the seat with its room, then the room's seats (CONNECTED's names
    come from the same read as ROOMMATES)."""
    from django.test.utils import CaptureQueriesContext

    from game.services import seat_hello
    from rooms.services import room_join

    room, ann = room_create(room_name="Hello", num_of_players=3, user_name="Ann")
    room_join(room_id=room["room_id"], user_name="Bob")
    with CaptureQueriesContext(connection) as queries:
        opened = seat_hello(room_id=room["room_id"], token=ann["token"])
    assert len(queries.captured_queries) == 2, [q["sql"] for q in queries.captured_queries]
    assert opened["waiting"] and opened["seat"]["seat"] == 0
    connected, roommates = opened["frames"]
    assert connected["cmd"] == "CONNECTED" and roommates["cmd"] == "ROOMMATES"
    assert connected["payload"]["data"]["room"]["players"] == ["Ann", "Bob"]
    assert roommates["payload"]["data"]["needed"] == 1
    shown = {mate["name"]: mate["connected"] for mate in roommates["payload"]["data"]["players"]}
    assert shown == {"Ann": True, "Bob": False}


def test_joining_a_room_is_five_statements_and_starts_the_seats_grace(settings):
    """JOIN_ROOM: lock the room, read its seats, the new seat, its DISCONNECT_GRACE, the room's
    time — no savepoint, and no grace to cancel for a seat made a moment before."""
    from django.test.utils import CaptureQueriesContext

    from rooms.models import Deadline
    from rooms.services import SEAT_GRACE_KIND, room_join

    room, _ = room_create(room_name="Join", num_of_players=3, user_name="Ann")
    with CaptureQueriesContext(connection) as queries:
        _, bob = room_join(room_id=room["room_id"], user_name="Bob")
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    assert len(statements) == 5, statements
    assert not any("SAVEPOINT" in sql for sql in statements)
    graces = Deadline.objects.filter(kind=SEAT_GRACE_KIND, player_id=bob["player_id"], claimed_at__isnull=True)
    assert graces.count() == 1
    assert list(Player.objects.filter(room_id=room["room_id"]).order_by("seat").values_list("name", flat=True)) \
        == ["Ann", "Bob"]


def test_a_seat_connecting_to_a_room_still_incomplete_is_one_transaction_and_the_last_deals():
    """A seat's socket opening is recorded, its seat settled and its room's completeness
    counted in one transaction; only the one that completes the room opens the game's."""
    from rooms.services import connections_apply, process_beat

    room_id, players = seated(3, "Count")
    process_beat()  # this process's row is fresh, as a serving process's is between two beats
    for k, player_id in enumerate(players):
        with round_trips() as counted:
            connections_apply(opened=[(f"count-{k}", player_id)])
        trips, lines, _ = counted
        transactions = sum(1 for line in lines if line.startswith("F\t") and '"BEGIN"' in line)
        if k < len(players) - 1:
            assert (transactions, trips) == (1, 8), "\n".join(lines)  # BEGIN, six statements, COMMIT
            assert not Game.objects.filter(room_id=room_id).exists()
        else:
            assert transactions == 2, lines
            assert Game.objects.filter(room_id=room_id).exists()


def test_the_sockets_of_a_finished_game_close_without_reading_the_game_and_a_running_ones_are_told():
    """After GAME_OVER a table's four sockets close: the seats are settled, and the game, over
    (its room finished in the same write), is not read; at a running game the others hear it."""
    from django.test.utils import CaptureQueriesContext

    from rooms.models import Room
    from rooms.services import connections_apply

    finished, running = begun(2, 0), begun(2, 0)
    Game.objects.filter(room_id=finished).update(status=Game.Status.FINISHED)
    Room.objects.filter(pk=finished).update(status=Room.Status.FINISHED)
    for room_id in (finished, running):
        channels = [f"rt-{pk}" for pk in Player.objects.filter(room_id=room_id).values_list("pk", flat=True)]
        logged = GameLog.objects.filter(game__room_id=room_id).count()
        with CaptureQueriesContext(connection) as queries:
            connections_apply(closed=channels[:1])
        games_read = [q["sql"] for q in queries.captured_queries if '"game_game"' in q["sql"]]
        if room_id == finished:
            assert games_read == [] and GameLog.objects.filter(game__room_id=room_id).count() == logged
        else:
            assert games_read and GameLog.objects.filter(game__room_id=room_id).count() == logged + 1
        assert not Player.objects.get(pk=int(channels[0].split("-")[1])).connected


def test_of_the_last_two_seats_connecting_at_once_exactly_one_deals_the_game():
    """Two processes' presence writers connect a room's last two people at the same moment.
    Each settle counts the room's connected people with the room's row locked, so the later
    one sees the earlier one's seat: the game is dealt once — never twice, never not at all."""
    import threading

    from rooms.services import connections_apply

    for round_ in range(20):
        room_id, (first, *last_two) = seated(3, f"Race {round_}")
        connections_apply(opened=[(f"race-{round_}-0", first)])
        barrier, failures = threading.Barrier(2), []

        def connect(k: int, player_id: int) -> None:
            try:
                barrier.wait(timeout=10)
                connections_apply(opened=[(f"race-{round_}-{k}", player_id)])
            except Exception as error:  # noqa: BLE001 - reported below, in the test's thread
                failures.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=connect, args=(k, player_id)) for k, player_id in enumerate(last_two, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures
        assert Game.objects.filter(room_id=room_id).count() == 1, f"round {round_}"
        assert set(Player.objects.filter(room_id=room_id).values_list("connected", flat=True)) == {True}
