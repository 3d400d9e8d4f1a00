"""R6–R9: a turn — drawing, matching, the legal plays and the wrong play."""

import pytest

from game.engine import Discard, Give, Name, Play, check_play, legal_plays, matches

from .helpers import (
    assert_refused,
    draw,
    draws,
    held,
    hand,
    ids,
    kinds,
    make_state,
    only,
    play,
    snapshot,
    top,
)


def assert_wrong_play(state, seat, cards):
    """R9: the cards stay in the hand, the player draws 2 and the turn passes."""
    new, events = play(state, seat, cards)
    assert only(events, "penalty", seat=seat, reason="wrong_play")
    assert draws(events, seat) == [(seat, 2, "wrong_play")]
    assert held(new, seat) >= set(ids(cards))
    assert len(new.hands[seat]) == len(state.hands[seat]) + 2
    assert new.pile == state.pile
    assert new.awaiting == {"kind": "turn", "seat": new.next_seat(seat)}
    return new, events


# --- R6 -------------------------------------------------------------------------------


def test_r6_draw_takes_one_card_and_ends_the_turn():
    state = make_state(["red/cross blue/square", "green/circle"], market="yellow/triangle")
    new, events = draw(state, 0)
    assert new.hands[0] == hand("red/cross blue/square yellow/triangle")
    assert kinds(events) == ["drew", "turn"]
    assert events[0] == {"event": "drew", "seat": 0, "count": 1, "reason": "draw",
                         "cards": list(ids("yellow/triangle"))}
    assert new.awaiting == {"kind": "turn", "seat": 1}
    assert new.current == 1


def test_r6_play_goes_up_the_seats_and_wraps_around():
    state = make_state(["red/cross", "blue/cross", "green/cross"], current=2)
    new, events = draw(state, 2)
    assert new.awaiting == {"kind": "turn", "seat": 0}


# --- R7 -------------------------------------------------------------------------------

R7_CASES = [
    ("red/cross", "red/cup", True),  # normal on normal: same colour
    ("blue/cup", "red/cup", True),  # normal on normal: same shape
    ("blue/cross", "red/cup", False),  # normal on normal: neither
    ("red/?", "red/-", True),  # special on special: same colour
    ("blue/?", "red/?", True),  # special on special: same symbol
    ("blue/?", "red/-", False),  # special on special: neither
    ("red/?", "red/cup", True),  # mixed: same colour
    ("blue/2", "red/cup", False),  # mixed: different colour
    ("yellow/->", "green/triangle", False),
]


@pytest.mark.parametrize("a, b, expected", R7_CASES)
def test_r7_matching_both_ways(a, b, expected):
    (x,), (y,) = ids(a), ids(b)
    assert matches(x, y) is expected
    assert matches(y, x) is expected


@pytest.mark.parametrize("card, pile", [(a, b) for a, b, ok in R7_CASES if ok])
def test_r7_a_matching_single_is_laid_on_the_pile(card, pile):
    state = make_state([card + " green/square#3", "yellow/circle"], pile=pile)
    new, events = play(state, 0, card)
    assert kinds(events)[0] == "played"
    assert new.top_card == ids(card)[0]


@pytest.mark.parametrize("card, pile", [(a, b) for a, b, ok in R7_CASES if not ok])
def test_r7_a_single_that_does_not_match_is_a_wrong_play(card, pile):
    state = make_state([card + " green/square#3", "yellow/circle"], pile=pile)
    assert_wrong_play(state, 0, card)


# --- R8 -------------------------------------------------------------------------------


def test_r8a_single_card_becomes_the_top_and_the_turn_passes():
    state = make_state(["blue/cup red/square green/square", "green/circle", "yellow/cross"])
    new, events = play(state, 0, "blue/cup")
    assert kinds(events) == ["played", "turn"]
    assert events[0] == {"event": "played", "seat": 0, "cards": list(ids("blue/cup"))}
    assert top(new) == "blue/cup#0"
    assert new.hands[0] == hand("red/square green/square")
    assert new.awaiting == {"kind": "turn", "seat": 1}


def test_r8b_pick_stack_first_matches_rest_in_any_colour_last_is_top():
    state = make_state(["red/1 blue/1 green/1 yellow/cross", "green/circle"])
    new, events = play(state, 0, "red/1 blue/1 green/1")
    assert only(events, "played")[0]["cards"] == list(ids("red/1 blue/1 green/1"))
    assert top(new) == "green/1"
    assert new.pending_pick == {"symbol": "pick_one", "total": 3}


@pytest.mark.parametrize("order", ["red/2 yellow/2 blue/2", "red/2 blue/2 yellow/2"])
def test_r8b_pick_stack_any_order_after_the_first(order):
    state = make_state(["red/2 blue/2 yellow/2 green/cross green/square", "green/circle"])
    new, events = play(state, 0, order)
    assert not only(events, "penalty")
    assert top(new) == order.split()[-1]
    assert new.pending_pick == {"symbol": "pick_two", "total": 6}


def test_r8b_pick_stack_whose_first_card_does_not_match_is_wrong():
    state = make_state(["blue/1 red/1 green/cross", "green/circle"])
    assert_wrong_play(state, 0, "blue/1 red/1")


def test_r8b_pick_one_and_pick_two_do_not_stack():
    state = make_state(["red/1 red/2 green/cross", "green/circle"])
    assert_wrong_play(state, 0, "red/1 red/2")


def test_r8_two_normal_cards_are_a_wrong_play():
    state = make_state(["red/cross red/square green/cross", "green/circle"])
    assert_wrong_play(state, 0, "red/cross red/square")


def test_r8_a_normal_and_a_special_card_are_a_wrong_play():
    state = make_state(["red/cross red/- green/cross", "green/circle"])
    assert_wrong_play(state, 0, "red/- red/cross")


COMBINATION_ORDERS = [
    ("question", "pick_one"), ("question", "pick_two"), ("question", "skip"), ("skip", "question"),
    ("drop", "pick_one"), ("drop", "pick_two"), ("drop", "drop"), ("drop", "question"),
    ("question", "drop"), ("drop", "skip"), ("skip", "drop"),
]
FACE = {"pick_one": "1", "pick_two": "2", "skip": "->", "question": "?", "drop": "-"}
SYMBOLS = list(FACE)
NOT_COMBINATIONS = [(a, b) for a in SYMBOLS for b in SYMBOLS
                    if (a, b) not in COMBINATION_ORDERS and not (a == b and a in ("pick_one", "pick_two"))]


def pair(first, second):
    """The two cards of a combination: the first red (matches red/cup), the second blue."""
    return f"red/{FACE[first]} blue/{FACE[second]}"


@pytest.mark.parametrize("first, second", COMBINATION_ORDERS)
def test_r8c_combination_in_every_listed_order_is_legal(first, second):
    cards = pair(first, second)
    state = make_state([cards + " green/cross yellow/square yellow/circle", "green/circle green/- green/?"])
    assert check_play(ids(cards), state.top_card, None) is None
    assert ids(cards) in legal_plays(state.hands[0], state.top_card, None)
    new, events = play(state, 0, cards)
    assert only(events, "played")[0]["cards"] == list(ids(cards))
    assert not only(events, "penalty")
    laid = len(state.pile)
    assert new.pile[laid:laid + 2] == list(ids(cards))  # first laid first


@pytest.mark.parametrize("first, second", COMBINATION_ORDERS)
def test_r8c_combination_whose_first_card_does_not_match_is_wrong(first, second):
    cards = f"blue/{FACE[first]} red/{FACE[second]}"  # the second matches red/cup: no help
    state = make_state([cards + " green/cross", "green/circle"])
    assert_wrong_play(state, 0, cards)


@pytest.mark.parametrize("first, second", NOT_COMBINATIONS)
def test_r8c_pairs_not_in_the_table_are_wrong_plays(first, second):
    cards = f"red/{FACE[first]} blue/{FACE[second]}"
    state = make_state([cards + " green/cross", "green/circle"])
    assert_wrong_play(state, 0, cards)


def test_r8c_three_special_cards_are_a_wrong_play():
    state = make_state(["red/- blue/- green/- yellow/cross", "green/circle"])
    assert_wrong_play(state, 0, "red/- blue/- green/-")


# --- R9 -------------------------------------------------------------------------------


def test_r9_wrong_play_cards_back_draw_two_turn_passes():
    state = make_state(["blue/cross red/square", "green/circle"], market="yellow/triangle yellow/square")
    new, events = play(state, 0, "blue/cross")
    assert kinds(events) == ["penalty", "drew", "turn"]
    assert events[0]["seat"] == 0 and events[0]["reason"] == "wrong_play"
    assert events[1] == {"event": "drew", "seat": 0, "count": 2, "reason": "wrong_play",
                         "cards": list(ids("yellow/square yellow/triangle"))}
    assert sorted(new.hands[0]) == sorted(ids("blue/cross red/square yellow/triangle yellow/square"))
    assert new.pile == state.pile
    assert new.awaiting == {"kind": "turn", "seat": 1}


def test_r9_apply_never_changes_the_old_state():
    state = make_state(["red/cross blue/square", "green/circle"])
    before = snapshot(state)
    play(state, 0, "red/cross")
    play(state, 0, "blue/square")
    draw(state, 0)
    assert snapshot(state) == before


def test_r9_card_not_in_hand_is_refused():
    state = make_state(["red/cross blue/square", "green/circle"])
    assert_refused(state, 0, Play(cards=ids("green/circle")), "NOT_IN_HAND")


def test_r9_card_named_twice_is_refused():
    state = make_state(["red/1 blue/square", "green/circle"])
    assert_refused(state, 0, Play(cards=ids("red/1 red/1")), "INVALID")


@pytest.mark.parametrize("cards", [("12",), (1.0,), (True,), (None,)])
def test_r9_malformed_cards_are_refused(cards):
    state = make_state(["red/cross blue/square", "green/circle"])
    assert_refused(state, 0, Play(cards=cards), "INVALID")


@pytest.mark.parametrize("cards", [None, 5])
def test_r9_a_play_whose_cards_are_not_a_list_is_refused(cards):
    """R9: a malformed message is rejected with an error (IllegalAction), not a crash."""
    state = make_state(["red/cross blue/square", "green/circle"])
    assert_refused(state, 0, Play(cards=cards), "INVALID")


def test_r9_out_of_turn_is_refused():
    state = make_state(["red/cross blue/square", "green/circle red/circle"])
    assert_refused(state, 1, Play(cards=ids("red/circle")), "NOT_YOUR_TURN")
    assert_refused(state, 1, Play(), "NOT_YOUR_TURN")


@pytest.mark.parametrize("action", [Name("cup"), Give(0), Discard(cards=(0,))])
def test_r9_wrong_answer_kind_is_refused(action):
    state = make_state(["red/cross blue/square", "green/circle"])
    assert_refused(state, 0, action, "INVALID")


def test_r9_any_answer_after_game_over_is_refused():
    state = make_state(["red/cross", "green/circle blue/circle"])
    over, events = play(state, 0, "red/cross")
    assert over.outcome is not None and over.awaiting is None
    for seat, action in [(1, Play()), (0, Play()), (1, Play(cards=ids("blue/circle"))), (1, Name("red"))]:
        assert_refused(over, seat, action, "NO_PENDING_PROMPT")
