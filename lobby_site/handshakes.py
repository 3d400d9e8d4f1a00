"""What a new WebSocket costs daphne before any consumer runs (bench/README.md, spectators).

* `format_autobahn_settings_lazily` — autobahn (under daphne) pretty-prints the settings of
  every new connection for a debug log line, whether or not debug logging is on.
"""

from __future__ import annotations

import pprint


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
    logger turns into the same text if it writes the line. The module's one other use of the name, `Timings.__str__` (a str is required there), is
    given the eager formatting back.
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
