"""A server frame's text (lobby_site.wire.encode): compact JSON, UTF-8 as it is, as the json module writes it."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from lobby_site.wire import ErrorCode, ServerCmd, encode, error_frame, frame

# Text without lone surrogates: no frame can carry one (docs/security.md: refused on the way in).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
NO_FLOATS = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT | st.integers(-9, 9), inner, max_size=4),
    max_leaves=25)


def reference(message) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=400)
@given(NO_FLOATS)
def test_a_frame_is_written_as_the_json_module_writes_it_compact_and_unescaped(value):
    message = {"cmd": ServerCmd.GAME_EVENT, "msg_id": 3, "payload": value}
    assert encode(message) == reference(message)


@settings(max_examples=200)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_keeps_its_value(number):
    assert json.loads(encode({"value": number})) == {"value": number}


def test_a_msg_id_beyond_64_bits_comes_back_as_reply_to_unchanged():
    huge = 2 ** 80 + 1
    text = encode(error_frame(ErrorCode.UNKNOWN_CMD, reply_to=huge))
    assert json.loads(text)["reply_to"] == huge
    assert text == reference(error_frame(ErrorCode.UNKNOWN_CMD, reply_to=huge))


def test_names_and_chat_go_out_as_utf8_not_escapes():
    message = frame(ServerCmd.GAME_EVENT, "Zoë said", data={"event": "chat", "seat": 0, "name": "Zoë", "text": "🂡 \u2028 ✓"})
    text = encode(message)
    assert "Zoë" in text and "🂡" in text and "\\u" not in text
    assert json.loads(text) == json.loads(reference(message))
