"""The Discard deck (docs/rules.md R1): colours, shapes, symbols and the 120 cards.

Cards are identified by their id (0–119) everywhere in the engine; `Card` is the
value object behind an id, with its wire form and its short text form for tests and
logs ("blue/cross#2" for a normal card, "green/?" for a special card).
"""

from __future__ import annotations

from dataclasses import dataclass

COLOURS = ("red", "blue", "green", "yellow")
SHAPES = ("cross", "square", "triangle", "circle", "cup")
SYMBOLS = ("pick_one", "pick_two", "skip", "question", "drop")
COPIES = 5

# Card faces as docs/rules.md prints them; used by the short text form.
SYMBOL_FACES = {"pick_one": "1", "pick_two": "2", "skip": "->", "question": "?", "drop": "-"}
FACE_SYMBOLS = {face: symbol for symbol, face in SYMBOL_FACES.items()}

NORMAL, SPECIAL = "normal", "special"
PICK_SYMBOLS = ("pick_one", "pick_two")
PICK_VALUE = {"pick_one": 1, "pick_two": 2}

DECK_SIZE = 120
NORMAL_COUNT = 100


@dataclass(frozen=True, slots=True)
class Card:
    id: int
    kind: str
    colour: str
    shape: str | None = None
    symbol: str | None = None
    copy: int = 0

    @property
    def is_special(self) -> bool:
        return self.kind == SPECIAL

    def to_wire(self) -> dict:
        """Return the card as docs/protocol.md sends it."""
        if self.kind == NORMAL:
            return {"id": self.id, "kind": NORMAL, "colour": self.colour, "shape": self.shape}
        return {"id": self.id, "kind": SPECIAL, "colour": self.colour, "symbol": self.symbol}

    def __str__(self) -> str:
        if self.kind == NORMAL:
            return f"{self.colour}/{self.shape}#{self.copy}"
        return f"{self.colour}/{SYMBOL_FACES[self.symbol]}"


def _build_deck() -> tuple[Card, ...]:
    cards = []
    for c, colour in enumerate(COLOURS):
        for s, shape in enumerate(SHAPES):
            for copy in range(COPIES):
                cards.append(Card((c * 5 + s) * 5 + copy, NORMAL, colour, shape=shape, copy=copy))
    for c, colour in enumerate(COLOURS):
        for y, symbol in enumerate(SYMBOLS):
            cards.append(Card(100 + c * 5 + y, SPECIAL, colour, symbol=symbol))
    cards.sort(key=lambda card: card.id)
    assert [card.id for card in cards] == list(range(DECK_SIZE))
    return tuple(cards)


DECK: tuple[Card, ...] = _build_deck()
# Wire forms are built once: they are immutable by convention and shared by every message.
WIRE: tuple[dict, ...] = tuple(card.to_wire() for card in DECK)


def card(card_id: int) -> Card:
    return DECK[card_id]


def is_special(card_id: int) -> bool:
    return card_id >= NORMAL_COUNT


def parse_card(text: str) -> int:
    """Return the id of a card written as "blue/cross#2", "blue/cross" (copy 0) or "green/?"."""
    colour, _, rest = text.strip().partition("/")
    if colour not in COLOURS or not rest:
        raise ValueError(f"not a card: {text!r}")
    c = COLOURS.index(colour)
    face, _, copy = rest.partition("#")
    if face in SHAPES:
        n = int(copy) if copy else 0
        if not 0 <= n < COPIES:
            raise ValueError(f"no copy {n} of {colour}/{face}")
        return (c * 5 + SHAPES.index(face)) * 5 + n
    symbol = FACE_SYMBOLS.get(face, face if face in SYMBOLS else None)
    if symbol is None or copy:
        raise ValueError(f"not a card: {text!r}")
    return 100 + c * 5 + SYMBOLS.index(symbol)


def parse_cards(text: str) -> list[int]:
    """Return the ids of space-separated cards ("red/cup blue/cup#1 green/?")."""
    return [parse_card(part) for part in text.split()]


def format_cards(card_ids) -> str:
    return " ".join(str(DECK[i]) for i in card_ids)
