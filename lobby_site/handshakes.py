"""What a WebSocket costs daphne outside our consumers: at its opening and after its end.

* `format_autobahn_settings_lazily` — autobahn (under daphne) pretty-prints the settings of
  every new connection for a debug log line, whether or not debug logging is on.
* `release_finished_websockets` — a finished connection's protocol objects are reference
  cycles that only a garbage collection frees; it empties them once daphne has let go.
* `spread_keepalive_pings` — sockets opened together were pinged together for ever.
* `check_timeouts_in_slices` — daphne looked at every socket in one callback every 2 s.
* `write_without_waiting` — Twisted wrote nothing before the next turn of the event loop.
"""

from __future__ import annotations

import math
import pprint
import random


class LazilyFormatted:
    """A value that is pretty-printed only when a log line that shows it is written."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __str__(self) -> str:
        return pprint.pformat(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def format_autobahn_settings_lazily() -> None:
    """Make autobahn's per-connection settings dump cost nothing unless debug logging shows it.

    `WebSocketProtocol._connectionMade` calls `pformat` on a list of its ~40 settings for
    `log.debug("\\n{attrs}", attrs=...)`: the formatting happens before the logger decides
    to drop the line. When the spectators of a game that ended all open sockets on the next
    one, that was 6.6% of daphne's event loop (py-spy, bench/README.md). The name `pformat`
    in autobahn's module is replaced, once per process, by `LazilyFormatted`, which Twisted's
    logger turns into the same text if it writes the line. The module's one other use of the
    name, `Timings.__str__` (a str is required there), is given the eager formatting back.
    """
    try:
        from autobahn.websocket import protocol as autobahn_protocol
    except ImportError:  # not under daphne
        return
    if autobahn_protocol.pformat is LazilyFormatted:
        return

    def timings_text(timings) -> str:
        return pprint.pformat({key: timings[key] for key in timings})

    autobahn_protocol.pformat = LazilyFormatted
    autobahn_protocol.Timings.__str__ = timings_text


def release_finished_websockets() -> None:
    """Empty each WebSocket protocol once daphne has reaped its connection, so its objects are
    freed at once, by reference counting, instead of in a garbage collection.

    A closed connection left ~70 objects in reference cycles (autobahn's `is_closed` future
    holds the protocol it belongs to; the protocol, its transport, request and channel point
    at each other). Under a busy server, with players moving from game to game, they piled up
    by the tens of thousands and were freed in young collections that paused the whole process
    for 130–220 ms at 2,000 players — a pause every socket's latency felt (bench/README.md).
    Daphne's `application_checker` (every second) drops a connection from `Server.connections`
    only when its socket has closed and its consumer has finished; after that nothing calls the
    protocol (a late reply is dropped because the connection is no longer listed), so its
    attributes are cleared, which breaks every cycle through it. Applied once per process.
    """
    try:
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # not under daphne
        return
    if getattr(Server.application_checker, "releases_finished_websockets", False):
        return
    reap = Server.application_checker

    def application_checker(self):
        # Set operations, not a loop over every connection: this runs every second whatever
        # the process holds, and only the few reaped ones need more than a look.
        listed = set(self.connections)
        reap(self)
        for protocol in listed.difference(self.connections):
            if isinstance(protocol, WebSocketProtocol):
                protocol.__dict__.clear()

    application_checker.releases_finished_websockets = True
    Server.application_checker = application_checker


def spread_keepalive_pings() -> None:
    """Give each new WebSocket's keepalive pings a phase of its own.

    Daphne pings a socket that has sent nothing for `--ping-interval` (20 s), looking at every
    socket every 2 s (`Server.timeout_checker`), and a socket's clock starts when it opens. So
    sockets opened together are pinged together for ever: a table's spectators, who send
    nothing, or every client reconnecting after a deploy. 200 spectators of one table were 200
    pings written in one turn of the event loop every 22 s and 200 pongs read back, a stall
    the players' moves could wait behind (bench/README.md, tenth session). Each socket's clock
    now starts as if it had been pinged a random part of the interval before it opened: its
    first ping comes within one interval (sooner than before, never later), and sockets
    opened together are pinged at spread times from then on. Applied once per process.
    """
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # not under daphne
        return
    connect = WebSocketProtocol.onConnect
    if getattr(connect, "spreads_keepalive_pings", False):
        return

    def on_connect(self, request):
        accepting = connect(self, request)
        self.last_ping -= random.uniform(0, self.server.ping_interval)
        return accepting

    on_connect.spreads_keepalive_pings = True
    WebSocketProtocol.onConnect = on_connect


TIMEOUT_SLICES = 20  # daphne's 2 s round of timeout checks, in this many callbacks


def check_timeouts_in_slices() -> None:
    """Look at daphne's sockets for timeouts and keepalive pings a twentieth at a time, every
    tenth of a second, instead of all of them in one callback every 2 s.

    `Server.timeout_checker` calls every connection's `check_timeouts`, which pings each socket
    silent for `--ping-interval`: with 5,000 idle sockets that was ~500 pings and 5,000 checks
    in one callback, 30 ms of the event loop every 2 s (py-spy), and another client's
    GET_ROOMS p99 went from 19 ms to 53–69 ms (`bench/lobby.py idle`). Each round still
    visits every connection once in about 2 s, listed when the round starts (a socket opened
    meanwhile waits for the next round, as it waited up to 2 s before). Applied once per process.
    """
    try:
        from daphne import server as daphne_server
    except ImportError:  # not under daphne
        return
    if getattr(daphne_server.Server.timeout_checker, "checks_in_slices", False):
        return

    def timeout_checker(self):
        round_left = getattr(self, "timeout_round", None)
        if not round_left:
            round_left = self.timeout_round = list(self.connections)
            self.timeout_slice = math.ceil(len(round_left) / TIMEOUT_SLICES)
        taken = round_left[-self.timeout_slice:]
        del round_left[-self.timeout_slice:]
        for protocol in taken:
            if protocol in self.connections:  # not closed since the round began
                protocol.check_timeouts()
        daphne_server.reactor.callLater(2 / TIMEOUT_SLICES, self.timeout_checker)

    timeout_checker.checks_in_slices = True
    daphne_server.Server.timeout_checker = timeout_checker


def write_without_waiting() -> None:
    """Send what daphne writes to a socket at once when nothing is waiting to go before it.

    Twisted's TCP transport never writes in `write`: it buffers the bytes, asks the event loop
    to watch the socket for writability (`add_writer`, an `epoll_ctl`), writes them when the
    next turn of the loop reports it, and stops watching (another `epoll_ctl`). So every
    WebSocket message a process sends — four for each move of a 4-seat table — cost two
    system calls and a loop callback more than the write itself: 5-6% of a busy daphne's CPU
    (py-spy, bench/README.md, twentieth session). asyncio's own transports try the write
    first, and so does this: when the socket has nothing buffered, the bytes go to `send`
    now, and only what the kernel does not take (a full socket buffer, an error) takes
    Twisted's buffered path, which keeps the order and reports the error as before. A
    connection being closed, or with anything still buffered, always takes the buffered path.
    Applied once per process.
    """
    try:
        from twisted.internet import tcp
    except ImportError:  # not under daphne
        return
    buffered_write = tcp.Connection.write
    if getattr(buffered_write, "writes_without_waiting", False):
        return

    def write(self, data):
        if (type(data) is bytes and data and self.connected and not self.disconnecting
                and not self._writeDisconnecting and not self._writeDisconnected
                and not self.dataBuffer and not self._tempDataBuffer):
            try:
                sent = self.socket.send(data)
            except OSError:  # would block, or the connection broke: the buffered path deals with it
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        buffered_write(self, data)

    write.writes_without_waiting = True
    tcp.Connection.write = write
