"""R1: the 120 cards, their ids, wire form and short text form."""

import json
from collections import Counter

import pytest

from game.engine import COLOURS, DECK, SHAPES, SYMBOLS, WIRE, card, format_cards, parse_card, parse_cards


def test_r1_deck_has_120_cards_with_unique_ids_0_to_119():
    assert [c.id for c in DECK] == list(range(120))


def test_r1_colours_shapes_and_symbols_in_rules_order():
    assert COLOURS == ("red", "blue", "green", "yellow")
    assert SHAPES == ("cross", "square", "triangle", "circle", "cup")
    assert SYMBOLS == ("pick_one", "pick_two", "skip", "question", "drop")


def test_r1_hundred_normal_cards_five_copies_of_every_colour_shape():
    normals = [c for c in DECK if c.kind == "normal"]
    assert len(normals) == 100
    assert Counter((c.colour, c.shape) for c in normals) == {(co, sh): 5 for co in COLOURS for sh in SHAPES}


def test_r1_twenty_special_cards_one_of_each_symbol_in_each_colour():
    specials = [c for c in DECK if c.kind == "special"]
    assert len(specials) == 20
    assert sorted((c.colour, c.symbol) for c in specials) == sorted((co, sy) for co in COLOURS for sy in SYMBOLS)


@pytest.mark.parametrize("colour_index, colour", list(enumerate(COLOURS)))
def test_r1_normal_card_id_formula(colour_index, colour):
    for shape_index, shape in enumerate(SHAPES):
        for copy in range(5):
            c = card((colour_index * 5 + shape_index) * 5 + copy)
            assert (c.kind, c.colour, c.shape) == ("normal", colour, shape)


def test_r1_special_card_id_formula():
    for colour_index, colour in enumerate(COLOURS):
        for symbol_index, symbol in enumerate(SYMBOLS):
            c = card(100 + colour_index * 5 + symbol_index)
            assert (c.kind, c.colour, c.symbol) == ("special", colour, symbol)


def test_r1_wire_form_of_rules_examples():
    assert card(25).to_wire() == {"id": 25, "kind": "normal", "colour": "blue", "shape": "cross"}
    assert card(113).to_wire() == {"id": 113, "kind": "special", "colour": "green", "symbol": "question"}


def test_r1_wire_form_of_every_card_is_json_with_only_its_own_fields():
    for c in DECK:
        wire = json.loads(json.dumps(WIRE[c.id]))
        face = "shape" if c.kind == "normal" else "symbol"
        assert set(wire) == {"id", "kind", "colour", face}
        assert wire["id"] == c.id


def test_r1_text_form_round_trip_for_every_card():
    for c in DECK:
        assert parse_card(str(c)) == c.id
    assert parse_cards(format_cards(range(120))) == list(range(120))


@pytest.mark.parametrize("text, expected", [
    ("red/cross", 0), ("red/cross#0", 0), ("blue/cross#0", 25), ("blue/cup#1", 46),
    ("yellow/cup#4", 99), ("red/1", 100), ("red/2", 101), ("red/->", 102), ("green/?", 113),
    ("yellow/-", 119), ("green/question", 113),
])
def test_r1_text_form_examples(text, expected):
    assert parse_card(text) == expected


@pytest.mark.parametrize("text", ["purple/cup", "red/star", "red/cup#5", "green/?#1", "red", ""])
def test_r1_text_form_rejects_what_is_not_a_card(text):
    with pytest.raises(ValueError):
        parse_card(text)
