"""What lobby_site/handshakes.py changes in daphne: a new WebSocket's settings dump is formatted
only when a debug line shows it, finished sockets are released, timeouts are checked in slices,
a write goes out at once when nothing waits before it."""

import pprint

import pytest
from autobahn.websocket import protocol as autobahn_protocol
from twisted.logger import formatEvent

from lobby_site.handshakes import TIMEOUT_SLICES, format_autobahn_settings_lazily, write_without_waiting

SETTINGS = [("openHandshakeTimeout", 5, "WebSocketFactory"), ("failByDrop", False, "WebSocketFactory")]


def test_the_settings_dump_is_not_formatted_when_no_line_is_written(monkeypatch):
    format_autobahn_settings_lazily()
    calls = []
    real_pformat = pprint.pformat
    monkeypatch.setattr(pprint, "pformat", lambda value: calls.append(value) or real_pformat(value))

    autobahn_protocol.pformat(SETTINGS)

    assert calls == []


def test_a_written_debug_line_shows_the_same_text_as_before():
    format_autobahn_settings_lazily()

    line = formatEvent({"log_format": "\n{attrs}", "attrs": autobahn_protocol.pformat(SETTINGS)})

    assert line == "\n" + pprint.pformat(SETTINGS)


def test_timings_still_print_as_text():
    format_autobahn_settings_lazily()
    timings = autobahn_protocol.Timings()
    timings.track("onOpen")

    text = str(timings)

    assert isinstance(text, str) and "onOpen" in text


def test_applying_it_twice_changes_nothing_more():
    format_autobahn_settings_lazily()
    first = autobahn_protocol.pformat

    format_autobahn_settings_lazily()

    assert autobahn_protocol.pformat is first


def _server_with(connections: dict):
    from daphne.server import Server

    server = Server.__new__(Server)  # only what application_checker reads
    server.connections = connections
    server.application_close_timeout = 10
    return server


def _finished_future():
    import asyncio

    loop = asyncio.new_event_loop()
    done = loop.create_future()
    done.set_result(None)
    loop.close()
    return done


def test_a_websocket_daphne_has_reaped_leaves_no_reference_cycle(monkeypatch):
    # autobahn resolves `is_closed` with the protocol itself: a cycle of every closed socket
    # that only a garbage collection (a pause of the whole process) could free.
    import gc
    import time

    import txaio
    from daphne.server import Server
    from daphne.ws_protocol import WebSocketProtocol
    from twisted.internet import reactor

    from lobby_site.handshakes import release_finished_websockets

    txaio.use_twisted()
    monkeypatch.setattr(Server, "application_checker", Server.application_checker)
    monkeypatch.setattr(reactor, "callLater", lambda *args: None)  # the checker re-arms itself
    release_finished_websockets()
    closed, open_ = WebSocketProtocol(), WebSocketProtocol()
    txaio.resolve(closed.is_closed, closed)
    server = _server_with({closed: {"disconnected": time.time(), "application_instance": _finished_future()},
                           open_: {"application_instance": None}})

    server.application_checker()

    assert closed not in server.connections and closed.__dict__ == {}
    assert open_ in server.connections and hasattr(open_, "is_closed")  # a live socket is left alone
    gc.collect()
    gc.disable()
    try:
        del closed
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_releasing_is_applied_once(monkeypatch):
    from daphne.server import Server

    from lobby_site.handshakes import release_finished_websockets

    monkeypatch.setattr(Server, "application_checker", Server.application_checker)
    release_finished_websockets()
    once = Server.application_checker
    release_finished_websockets()

    assert Server.application_checker is once


class _TimedSocket:
    """A connection that notes when daphne's timeout checker looked at it."""

    def __init__(self, clock):
        self.clock = clock
        self.checked: list[float] = []

    def check_timeouts(self):
        self.checked.append(self.clock.seconds())


@pytest.fixture
def sliced_server(monkeypatch):
    """Daphne's `Server` with 100 connections, its timeout round in slices, on Twisted's own
    deterministic reactor clock: (server, sockets, clock)."""
    from daphne import server as daphne_server
    from twisted.internet.task import Clock

    from lobby_site.handshakes import check_timeouts_in_slices

    clock = Clock()
    monkeypatch.setattr(daphne_server.Server, "timeout_checker", daphne_server.Server.timeout_checker)
    monkeypatch.setattr(daphne_server, "reactor", clock)
    check_timeouts_in_slices()
    sockets = [_TimedSocket(clock) for _ in range(100)]
    return _server_with({socket: {} for socket in sockets}), sockets, clock


def test_timeouts_are_checked_a_slice_at_a_time_and_every_socket_once_a_round(sliced_server):
    server, sockets, clock = sliced_server

    server.timeout_checker()
    assert sum(len(socket.checked) for socket in sockets) == 100 // TIMEOUT_SLICES  # one slice, not all
    clock.pump([2 / TIMEOUT_SLICES] * (TIMEOUT_SLICES - 1))  # the rest of the 2 s round

    assert [len(socket.checked) for socket in sockets] == [1] * 100
    assert max(max(socket.checked) for socket in sockets) < 2


def test_a_socket_closed_during_the_round_is_not_checked(sliced_server):
    server, sockets, clock = sliced_server
    server.timeout_checker()
    unchecked = [socket for socket in sockets if not socket.checked]
    for socket in unchecked:
        del server.connections[socket]

    clock.pump([2 / TIMEOUT_SLICES] * (TIMEOUT_SLICES - 1))

    assert [socket.checked for socket in unchecked] == [[]] * len(unchecked)


class _WatchRecorder:
    """The reactor calls a TCP connection makes when it wants to write later."""

    def __init__(self):
        self.writers = []

    def addWriter(self, selectable):
        self.writers.append(selectable)

    def removeWriter(self, selectable):
        if selectable in self.writers:
            self.writers.remove(selectable)


@pytest.fixture
def tcp_pair():
    """A Twisted TCP connection (with the write patch) on one end of a socket pair, and the other end."""
    import socket

    from twisted.internet import protocol, tcp

    write_without_waiting()
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.settimeout(2)
    reactor = _WatchRecorder()
    connection = tcp.Connection(ours, protocol.Protocol(), reactor=reactor)
    connection.connected = 1
    yield connection, theirs, reactor
    ours.close()
    theirs.close()


def _drain(theirs, connection, expected: int) -> bytes:
    """Read from the far end until `expected` bytes came, letting the connection write what it buffered."""
    theirs.settimeout(5)
    received = bytearray()
    while len(received) < expected:
        if connection.dataBuffer or connection._tempDataBuffer:
            connection.doWrite()  # what the reactor does when the socket is writable
        received += theirs.recv(1 << 20)
    return bytes(received)


def test_a_write_with_nothing_buffered_is_sent_at_once_without_watching_the_socket(tcp_pair):
    connection, theirs, reactor = tcp_pair

    connection.write(b"a frame")

    assert theirs.recv(100) == b"a frame"
    assert reactor.writers == [] and connection._tempDataBuffer == []


def test_what_the_socket_does_not_take_waits_in_twisteds_buffer_and_keeps_its_order(tcp_pair):
    connection, theirs, reactor = tcp_pair
    big = bytes(range(256)) * 40_000  # ~10 MB: more than the socket buffers hold

    connection.write(big)
    assert reactor.writers == [connection]  # the rest waits for the socket to be writable
    connection.write(b"after")  # queued behind the rest, not sent before it
    assert connection._tempDataBuffer[-1] == b"after"

    assert _drain(theirs, connection, len(big) + 5) == big + b"after"


def test_a_connection_being_closed_takes_the_buffered_path(tcp_pair):
    connection, theirs, reactor = tcp_pair
    connection.disconnecting = True

    connection.write(b"last words")

    assert reactor.writers == [connection] and connection._tempDataBuffer == [b"last words"]


def test_writing_at_once_is_applied_once():
    from twisted.internet import tcp

    write_without_waiting()
    patched = tcp.Connection.write
    write_without_waiting()

    assert tcp.Connection.write is patched and patched.writes_without_waiting
