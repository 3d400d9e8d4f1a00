"""A socket's bytes go out within Twisted's write call when nothing is queued before them
(lobby_site/handshakes.py `write_sockets_at_once`): real sockets, Twisted's own TCP connection."""

import socket

import pytest
from twisted.internet import protocol, tcp
from twisted.internet.testing import MemoryReactor

from lobby_site.handshakes import write_sockets_at_once


@pytest.fixture
def connection():
    """A Twisted TCP connection over one end of a socket pair: (connection, the other end, reactor)."""
    write_sockets_at_once()
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    peer.setblocking(False)
    reactor = MemoryReactor()  # records which sockets wait to be written
    connection = tcp.Connection(ours, protocol.Protocol(), reactor)
    connection.connected = 1
    try:
        yield connection, peer, reactor
    finally:
        ours.close()
        peer.close()


def received(peer: socket.socket) -> bytes:
    """Everything that has arrived at `peer` so far."""
    chunks = []
    while True:
        try:
            chunk = peer.recv(1 << 20)
        except BlockingIOError:
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_a_write_with_nothing_queued_is_sent_at_once(connection):
    connection, peer, reactor = connection

    connection.write(b"GAME_EVENT")

    assert received(peer) == b"GAME_EVENT"
    assert connection not in reactor.getWriters()  # nothing left for the event loop's next turn


def test_what_the_kernel_does_not_take_is_sent_later_and_in_order(connection):
    connection, peer, reactor = connection
    large = bytes(range(256)) * 40_000  # 10 MB: more than the socket's buffers hold

    connection.write(large)
    connection.write(b"after")  # queued behind the rest of `large`, not sent ahead of it
    assert connection in reactor.getWriters()
    arrived = received(peer)
    while connection in reactor.getWriters():
        connection.doWrite()
        arrived += received(peer)

    assert arrived == large + b"after"
