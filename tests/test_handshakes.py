"""A new WebSocket's settings dump is formatted only when a debug line shows it (lobby_site/handshakes.py)."""

import pprint

from autobahn.websocket import protocol as autobahn_protocol
from twisted.logger import formatEvent

from lobby_site.handshakes import format_autobahn_settings_lazily

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
