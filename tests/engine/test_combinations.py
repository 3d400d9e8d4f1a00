"""R12: two special cards played together — one test per row of the table."""

import pytest

from game.engine import prompt_for

from .helpers import (
    assert_conserved,
    discard,
    draws,
    held,
    ids,
    kinds,
    make_state,
    only,
    play,
    snapshot,
    top,
)

OTHERS = ["green/circle green/square", "yellow/circle yellow/square"]


def three_players(cards: str, rest: str = "blue/cross green/cross yellow/cross"):
    """Seat 0 holds `cards` and `rest`; seats 1 and 2 hold two normal cards each."""
    return make_state([f"{cards} {rest}", *OTHERS])


# --- question + pick: every other player draws; you play again ------------------------


@pytest.mark.parametrize("cards, each", [("red/? blue/1", 1), ("red/? blue/2", 2)])
def test_r12_question_pick_every_other_player_draws_and_you_play_again(cards, each):
    state = three_players(cards)
    new, events = play(state, 0, cards)
    assert kinds(events) == ["played", "drew", "drew", "turn"]
    assert draws(events) == [(1, each, "combination"), (2, each, "combination")]
    assert events[-1] == {"event": "turn", "seat": 0}
    assert new.awaiting == {"kind": "turn", "seat": 0}
    assert new.pending_pick is None  # no pick total is created
    assert new.question is None  # nothing is named
    assert len(new.hands[0]) == 3
    assert top(new) == cards.split()[-1]


# --- question + skip · skip + question: everybody else is skipped ----------------------


@pytest.mark.parametrize("cards", ["red/? blue/->", "red/-> blue/?"])
def test_r12_question_skip_either_order_everybody_else_skipped_you_play_again(cards):
    state = three_players(cards)
    new, events = play(state, 0, cards)
    assert kinds(events) == ["played", "skipped", "skipped", "turn"]
    assert [e["seat"] for e in only(events, "skipped")] == [1, 2]
    assert new.awaiting == {"kind": "turn", "seat": 0}
    assert new.turn_count == state.turn_count + 1
    assert not only(events, "drew")
    assert new.question is None


# --- drop + pick_one / pick_two / drop: discard extra cards -----------------------------


@pytest.mark.parametrize("cards, count", [("red/- blue/1", 1), ("red/- blue/2", 2), ("red/- blue/-", 2)])
def test_r12_drop_combination_asks_for_extra_discards(cards, count):
    state = three_players(cards)
    new, events = play(state, 0, cards)
    assert kinds(events) == ["played"]
    assert new.awaiting == {"kind": "discard", "seat": 0, "count": count}
    assert prompt_for(new, 0)["count"] == count
    assert new.pending_pick is None


@pytest.mark.parametrize("cards, extra", [("red/- blue/1", "yellow/cross"),
                                          ("red/- blue/2", "yellow/cross green/cross"),
                                          ("red/- blue/-", "green/cross yellow/cross")])
def test_r12_extra_discards_need_no_match_and_the_last_is_the_top(cards, extra):
    state = three_players(cards, rest="blue/cross green/cross yellow/cross blue/circle")
    state, _ = play(state, 0, cards)
    new, events = discard(state, 0, extra)
    assert kinds(events) == ["discarded", "turn"]
    assert events[0]["cards"] == list(ids(extra))
    assert top(new) == extra.split()[-1] + "#0"
    assert new.pile[-len(ids(extra)):] == list(ids(extra))
    assert new.awaiting == {"kind": "turn", "seat": 1}
    assert new.pending_pick is None
    assert_conserved(new)


def test_r12_extra_discard_of_a_special_card_has_no_effect():
    state = three_players("red/- blue/1", rest="green/-> yellow/2 blue/cross")
    state, _ = play(state, 0, "red/- blue/1")
    new, events = discard(state, 0, "green/->")
    assert kinds(events) == ["discarded", "turn"]
    assert new.awaiting == {"kind": "turn", "seat": 1}


@pytest.mark.parametrize("cards", ["red/- blue/2", "red/- blue/-"])
def test_r12_discarding_more_than_you_hold_discards_all_without_a_prompt_and_wins(cards):
    state = make_state([f"{cards} yellow/cross", *OTHERS])
    new, events = play(state, 0, cards)
    assert kinds(events) == ["played", "discarded", "game_over"]
    assert only(events, "discarded")[0]["cards"] == list(ids("yellow/cross"))
    assert new.outcome.winner == 0


def test_r12_discarding_exactly_what_you_hold_needs_no_prompt_and_wins():
    state = make_state(["red/- blue/- yellow/cross green/cross", *OTHERS])
    new, events = play(state, 0, "red/- blue/-")
    assert kinds(events) == ["played", "discarded", "game_over"]
    assert sorted(only(events, "discarded")[0]["cards"]) == sorted(ids("yellow/cross green/cross"))
    assert new.hands[0] == []
    assert new.outcome.winner == 0


# --- drop + question · question + drop: the first holder of a special loses one --------


def four_players(cards: str, seed: int = 1):
    """Seat 1 holds no special; seat 2 is the first holding specials; seat 3 holds one too."""
    return make_state(seed=seed, hands=[
        f"{cards} blue/cross green/cross",
        "green/circle green/square",
        "green/-> yellow/1 yellow/circle",
        "yellow/? yellow/square",
    ])


@pytest.mark.parametrize("cards", ["red/- blue/?", "red/? blue/-"])
def test_r12_drop_question_first_player_holding_a_special_loses_one(cards):
    state = four_players(cards)
    new, events = play(state, 0, cards)
    assert kinds(events) == ["played", "lost_special", "turn"]
    lost = events[1]
    assert lost["event"] == "lost_special" and lost["seat"] == 2
    assert lost["card"] in ids("green/-> yellow/1")
    assert new.top_card == lost["card"]
    assert lost["card"] not in held(new, 2) and len(new.hands[2]) == 2
    assert new.hands[3] == state.hands[3] and new.hands[1] == state.hands[1]
    assert new.awaiting == {"kind": "turn", "seat": 1}  # the player after you
    assert new.pending_pick is None and new.question is None  # the lost card has no effect
    assert_conserved(new)


def test_r12_the_lost_special_is_chosen_at_random_with_the_game_rng():
    state = four_players("red/- blue/?")
    a, events_a = play(state, 0, "red/- blue/?")
    b, events_b = play(state, 0, "red/- blue/?")
    assert snapshot(a) == snapshot(b) and events_a == events_b  # seeded: replays exactly
    assert a.rng_counter == state.rng_counter + 1
    lost = set()
    for seed in range(40):
        seeded = four_players("red/- blue/?", seed=seed)
        _, events = play(seeded, 0, "red/- blue/?")
        lost.add(only(events, "lost_special")[0]["card"])
    assert lost == set(ids("green/-> yellow/1"))  # both specials can be the one


@pytest.mark.parametrize("cards", ["red/- blue/?", "red/? blue/-"])
def test_r12_drop_question_nobody_holds_a_special_discard_one_extra(cards):
    state = make_state([f"{cards} blue/cross green/cross", "green/circle", "yellow/circle", "blue/circle"])
    new, events = play(state, 0, cards)
    assert kinds(events) == ["played"]
    assert new.awaiting == {"kind": "discard", "seat": 0, "count": 1}
    new, events = discard(new, 0, "green/cross")
    assert new.awaiting == {"kind": "turn", "seat": 1}


# --- drop + skip · skip + drop: the next player loses a special -------------------------


@pytest.mark.parametrize("cards", ["red/- blue/->", "red/-> blue/-"])
def test_r12_drop_skip_next_player_loses_a_special(cards):
    state = make_state([f"{cards} blue/cross green/cross", "green/? green/circle", "yellow/1 yellow/circle"])
    new, events = play(state, 0, cards)
    assert kinds(events) == ["played", "lost_special", "turn"]
    assert events[1] == {"event": "lost_special", "seat": 1, "card": ids("green/?")[0]}
    assert top(new) == "green/?"
    assert new.hands[1] == list(ids("green/circle"))
    assert new.awaiting == {"kind": "turn", "seat": 1}  # not skipped: the player after you


@pytest.mark.parametrize("cards", ["red/- blue/->", "red/-> blue/-"])
def test_r12_drop_skip_next_holds_no_special_discard_one_extra(cards):
    """Only the next player counts: a later player's specials do not."""
    state = make_state([f"{cards} blue/cross green/cross", "green/circle green/square", "yellow/1 yellow/circle"])
    new, events = play(state, 0, cards)
    assert kinds(events) == ["played"]
    assert new.awaiting == {"kind": "discard", "seat": 0, "count": 1}
    assert new.hands[2] == state.hands[2]


# --- pairs not in the table --------------------------------------------------------------


@pytest.mark.parametrize("cards", ["red/1 blue/?", "red/2 blue/-", "red/? blue/?", "red/-> blue/1",
                                   "red/-> blue/->", "red/1 blue/->"])
def test_r12_a_pair_not_in_the_table_is_a_wrong_play(cards):
    state = three_players(cards)
    new, events = play(state, 0, cards)
    assert kinds(events) == ["penalty", "drew", "turn"]
    assert held(new, 0) >= set(ids(cards))
    assert new.pile == state.pile
    assert new.awaiting == {"kind": "turn", "seat": 1}
