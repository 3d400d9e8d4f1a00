"""R10–R11: special cards played alone — pick one/two, skip, question, drop."""

import pytest

from game.engine import Discard, Give, Name, Play, prompt_for

from .helpers import (
    assert_conserved,
    assert_refused,
    discard,
    draw,
    draws,
    give,
    held,
    hand,
    ids,
    kinds,
    make_state,
    name,
    only,
    play,
    top,
)

# --- R10 ------------------------------------------------------------------------------


@pytest.mark.parametrize("card, symbol, total", [("red/1", "pick_one", 1), ("red/2", "pick_two", 2)])
def test_r10_single_pick_card_starts_a_total(card, symbol, total):
    state = make_state([card + " blue/cross green/cross", "green/circle", "yellow/circle"])
    new, events = play(state, 0, card)
    assert new.pending_pick == {"symbol": symbol, "total": total}
    assert kinds(events) == ["played", "pick_pending", "turn"]
    assert events[1] == {"event": "pick_pending", "seat": 1, "symbol": symbol, "total": total}
    assert new.awaiting == {"kind": "turn", "seat": 1}


def test_r10_stack_of_k_pick_two_adds_2k():
    state = make_state(["red/2 blue/2 green/2 blue/cross green/cross", "green/circle"])
    new, events = play(state, 0, "red/2 blue/2 green/2")
    assert new.pending_pick == {"symbol": "pick_two", "total": 6}


@pytest.mark.parametrize("answer, total", [("yellow/1", 3), ("blue/1 yellow/1", 4), ("yellow/1 blue/1", 4)])
def test_r10_answer_with_same_symbol_any_colour_adds_and_passes_on(answer, total):
    state = make_state(["red/cross red/square", "blue/1 yellow/1 green/cross green/square", "green/circle"],
                       pile="red/cup red/1", pending=("pick_one", 2), current=1)
    new, events = play(state, 1, answer)
    assert not only(events, "penalty")
    assert not only(events, "drew")
    assert new.pending_pick == {"symbol": "pick_one", "total": total}
    assert only(events, "pick_pending") == [{"event": "pick_pending", "seat": 2, "symbol": "pick_one",
                                             "total": total}]
    assert new.top_card == ids(answer)[-1]
    assert new.awaiting == {"kind": "turn", "seat": 2}


def test_r10_answer_need_not_match_colour_of_the_top_card():
    state = make_state(["red/cross red/square", "green/2 green/cross green/square"],
                       pile="red/cup red/2", pending=("pick_two", 2), current=1)
    new, events = play(state, 1, "green/2")
    assert new.pending_pick == {"symbol": "pick_two", "total": 4}


def test_r10_take_the_total_draws_it_and_loses_the_turn():
    state = make_state(["red/cross red/square", "blue/1 green/cross", "green/circle yellow/square"],
                       pile="red/cup red/2 blue/2", pending=("pick_two", 4), current=1)
    new, events = draw(state, 1)
    assert draws(events) == [(1, 4, "pick")]
    assert kinds(events) == ["drew", "turn"]
    assert len(new.hands[1]) == 6
    assert new.pending_pick is None
    assert new.awaiting == {"kind": "turn", "seat": 2}


def test_r10_after_the_total_is_taken_a_new_pick_starts_from_zero():
    state = make_state(["red/cross red/square", "blue/cross green/cross", "blue/1 green/circle yellow/square"],
                       pile="red/cup yellow/1", pending=("pick_one", 3), current=1)
    state, _ = draw(state, 1)
    new, events = play(state, 2, "blue/1")
    assert new.pending_pick == {"symbol": "pick_one", "total": 1}


def assert_wrong_under_pick(state, seat, cards, total):
    """R10: the total first, then the 2-card penalty, as two separate draws; the turn passes."""
    new, events = play(state, seat, cards)
    assert only(events, "penalty", seat=seat, reason="wrong_play")
    assert draws(events) == [(seat, total, "pick"), (seat, 2, "wrong_play")]
    assert held(new, seat) >= set(ids(cards))
    assert len(new.hands[seat]) == len(state.hands[seat]) + total + 2
    assert new.pile == state.pile
    assert new.pending_pick is None
    assert new.awaiting == {"kind": "turn", "seat": new.next_seat(seat)}


def test_r10_different_pick_symbol_under_a_pending_pick_is_wrong():
    state = make_state(["red/cross red/square", "red/2 green/cross", "green/circle"],
                       pile="red/cup red/1", pending=("pick_one", 3), current=1)
    assert_wrong_under_pick(state, 1, "red/2", 3)


def test_r10_matching_normal_card_under_a_pending_pick_is_wrong():
    state = make_state(["red/cross red/square", "red/circle green/cross", "green/circle"],
                       pile="red/cup red/1", pending=("pick_one", 1), current=1)
    assert_wrong_under_pick(state, 1, "red/circle", 1)


def test_r10_combination_under_a_pending_pick_is_wrong():
    state = make_state(["red/cross red/square", "red/? blue/1 green/cross", "green/circle"],
                       pile="red/cup red/1", pending=("pick_one", 2), current=1)
    assert_wrong_under_pick(state, 1, "red/? blue/1", 2)


def test_r10_mixed_pick_cards_under_a_pending_pick_are_wrong():
    state = make_state(["red/cross red/square", "blue/1 blue/2 green/cross", "green/circle"],
                       pile="red/cup red/1", pending=("pick_one", 1), current=1)
    assert_wrong_under_pick(state, 1, "blue/1 blue/2", 1)


def test_r10_prompt_offers_only_cards_of_the_pending_symbol():
    state = make_state(["red/cross red/square", "blue/1 red/2 red/circle", "green/circle"],
                       pile="red/cup red/1", pending=("pick_one", 1), current=1)
    prompt = prompt_for(state, 1)
    assert prompt["pending_pick"] == {"symbol": "pick_one", "total": 1}
    assert prompt["options"] == list(ids("blue/1"))


# --- R11a -----------------------------------------------------------------------------


def test_r11a_skip_next_player_loses_their_turn():
    state = make_state(["red/-> blue/cross green/cross", "green/circle", "yellow/circle"])
    new, events = play(state, 0, "red/->")
    assert kinds(events) == ["played", "skipped", "turn"]
    assert events[1] == {"event": "skipped", "seat": 1}
    assert new.awaiting == {"kind": "turn", "seat": 2}


def test_r11a_skip_wraps_around_the_seats():
    state = make_state(["green/circle", "yellow/circle", "red/-> blue/cross green/cross"], current=2)
    new, events = play(state, 2, "red/->")
    assert only(events, "skipped") == [{"event": "skipped", "seat": 0}]
    assert new.awaiting == {"kind": "turn", "seat": 1}


def test_r11a_skip_with_two_players_you_play_again():
    state = make_state(["red/-> blue/cross green/cross", "green/circle"])
    new, events = play(state, 0, "red/->")
    assert kinds(events) == ["played", "skipped", "turn"]
    assert events[-1] == {"event": "turn", "seat": 0}
    assert new.awaiting == {"kind": "turn", "seat": 0}
    assert new.turn_count == state.turn_count + 1  # a new whole turn


# --- R11b -----------------------------------------------------------------------------


def question_table(market="green/square yellow/square blue/square"):
    """Four players; seat 0 asks. Seat 1 holds no cup, seat 2 two cups, seat 3 one cup."""
    return make_state(
        ["red/? red/cross red/square",
         "blue/circle blue/? green/1",
         "blue/cup green/cup yellow/circle",
         "yellow/cup yellow/cross"],
        market=market,
    )


def test_r11b_question_asks_the_player_to_name():
    state = question_table()
    new, events = play(state, 0, "red/?")
    assert kinds(events) == ["played"]
    assert new.awaiting == {"kind": "name", "seat": 0}
    assert prompt_for(new, 0) == {"kind": "name", "options": ["red", "blue", "green", "yellow", "cross",
                                                              "square", "triangle", "circle", "cup"]}


def test_r11b_going_round_players_without_one_draw_then_the_holder_gives():
    state, _ = play(question_table(), 0, "red/?")
    new, events = name(state, 0, "cup")
    assert kinds(events) == ["question", "drew"]
    assert events[0] == {"event": "question", "seat": 0, "shape": "cup"}
    assert draws(events) == [(1, 1, "question")]
    assert new.question == {"seat": 0, "shape": "cup"}
    assert new.awaiting == {"kind": "give", "seat": 2}
    assert len(new.hands[3]) == 2  # after the giver: untouched


def test_r11b_the_giver_chooses_among_the_options():
    state, _ = play(question_table(), 0, "red/?")
    state, _ = name(state, 0, "cup")
    assert prompt_for(state, 2)["options"] == sorted(ids("blue/cup green/cup"))
    new, events = give(state, 2, "green/cup")
    assert kinds(events) == ["gave", "turn"]
    assert events[0] == {"event": "gave", "seat": 2, "card": ids("green/cup")[0]}
    assert top(new) == "green/cup#0"
    assert new.hands[2] == hand("blue/cup yellow/circle")
    assert new.question is None
    assert new.awaiting == {"kind": "turn", "seat": 3}  # the player after the giver


def test_r11b_give_prompt_even_with_a_single_option():
    state = question_table()
    state, _ = play(state, 0, "red/?")
    state, _ = name(state, 0, "yellow")
    # Seat 1 holds no yellow, seat 2 holds exactly one yellow normal card.
    assert state.awaiting == {"kind": "give", "seat": 2}
    assert prompt_for(state, 2) == {"kind": "give", "question": {"seat": 0, "colour": "yellow"},
                                    "options": list(ids("yellow/circle"))}


def test_r11b_nobody_holds_one_everyone_else_draws_and_turn_passes_after_the_asker():
    state, _ = play(question_table(), 0, "red/?")
    new, events = name(state, 0, "triangle")
    assert draws(events) == [(1, 1, "question"), (2, 1, "question"), (3, 1, "question")]
    assert new.hands[1][-1] == ids("blue/square")[0]
    assert new.question is None
    assert kinds(events)[-1] == "turn"
    assert new.awaiting == {"kind": "turn", "seat": 1}


def test_r11b_special_cards_do_not_count_for_giving():
    state = make_state(["red/? red/cross red/square", "green/1 green/? blue/circle", "green/cup yellow/circle"])
    state, _ = play(state, 0, "red/?")
    new, events = name(state, 0, "green")
    assert draws(events) == [(1, 1, "question")]
    assert new.awaiting == {"kind": "give", "seat": 2}
    assert prompt_for(new, 2)["options"] == list(ids("green/cup"))


def test_r11b_asker_holding_the_named_card_is_not_asked():
    state = make_state(["red/? red/cup#1 red/square", "blue/circle", "green/circle"],
                       market="yellow/square#1 yellow/square#2")
    state, _ = play(state, 0, "red/?")
    new, events = name(state, 0, "red")
    assert draws(events) == [(1, 1, "question"), (2, 1, "question")]
    assert new.awaiting == {"kind": "turn", "seat": 1}


def test_r11b_two_players_turn_comes_back_to_the_asker_after_the_give():
    state = make_state(["red/? red/cross red/square", "blue/cup blue/circle"])
    state, _ = play(state, 0, "red/?")
    state, _ = name(state, 0, "blue")
    new, events = give(state, 1, "blue/circle")
    assert new.awaiting == {"kind": "turn", "seat": 0}
    assert top(new) == "blue/circle#0"


def test_r11b_giver_wins_by_giving_their_last_card():
    state = make_state(["red/? red/cross red/square", "blue/cup", "green/cup green/circle"])
    state, _ = play(state, 0, "red/?")
    state, _ = name(state, 0, "cup")
    new, events = give(state, 1, "blue/cup")
    assert kinds(events) == ["gave", "game_over"]
    assert new.outcome.winner == 1
    assert new.awaiting is None


def test_r11b_bad_name_give_and_out_of_turn_answers_are_refused():
    state, _ = play(question_table(), 0, "red/?")
    assert_refused(state, 0, Name("skip"), "INVALID")
    assert_refused(state, 0, Name("purple"), "INVALID")
    assert_refused(state, 1, Name("cup"), "NOT_YOUR_TURN")
    assert_refused(state, 0, Play(), "INVALID")
    state, _ = name(state, 0, "cup")
    assert_refused(state, 2, Give(ids("yellow/circle")[0]), "INVALID")  # not a cup
    assert_refused(state, 2, Give(ids("red/cup")[0]), "NOT_IN_HAND")
    assert_refused(state, 3, Give(ids("yellow/cup")[0]), "NOT_YOUR_TURN")
    assert_refused(state, 0, Give(ids("blue/cup")[0]), "NOT_YOUR_TURN")


# --- R11c -----------------------------------------------------------------------------


def test_r11c_drop_asks_for_one_discard():
    state = make_state(["red/- blue/cross green/square yellow/circle", "green/circle"])
    new, events = play(state, 0, "red/-")
    assert kinds(events) == ["played"]
    assert new.awaiting == {"kind": "discard", "seat": 0, "count": 1}
    assert prompt_for(new, 0) == {"kind": "discard", "count": 1, "options": None}


def test_r11c_discard_any_card_with_no_need_to_match():
    state = make_state(["red/- blue/cross green/square yellow/circle", "green/circle", "blue/circle"])
    state, _ = play(state, 0, "red/-")
    new, events = discard(state, 0, "yellow/circle")
    assert kinds(events) == ["discarded", "turn"]
    assert events[0] == {"event": "discarded", "seat": 0, "cards": list(ids("yellow/circle"))}
    assert top(new) == "yellow/circle#0"
    assert new.awaiting == {"kind": "turn", "seat": 1}
    assert_conserved(new)


@pytest.mark.parametrize("card", ["blue/->", "blue/2", "blue/?", "blue/-"])
def test_r11c_discarded_card_has_no_effect(card):
    state = make_state(["red/- " + card + " green/square yellow/circle", "green/circle", "blue/circle"])
    state, _ = play(state, 0, "red/-")
    new, events = discard(state, 0, card)
    assert kinds(events) == ["discarded", "turn"]
    assert new.pending_pick is None and new.question is None
    assert new.awaiting == {"kind": "turn", "seat": 1}


def test_r11c_bad_discard_answers_are_refused():
    state = make_state(["red/- blue/cross green/square yellow/circle", "green/circle"])
    state, _ = play(state, 0, "red/-")
    assert_refused(state, 0, Discard(cards=ids("blue/cross green/square")), "INVALID")
    assert_refused(state, 0, Discard(cards=()), "INVALID")
    assert_refused(state, 0, Discard(cards=ids("green/circle")), "NOT_IN_HAND")
    assert_refused(state, 0, Discard(cards=ids("red/-")), "NOT_IN_HAND")
    assert_refused(state, 0, Play(cards=ids("blue/cross")), "INVALID")
    assert_refused(state, 1, Discard(cards=ids("green/circle")), "NOT_YOUR_TURN")


def test_r11c_drop_with_one_card_left_discards_it_without_a_prompt_and_wins():
    state = make_state(["red/- blue/cross", "green/circle"])
    new, events = play(state, 0, "red/-")
    assert kinds(events) == ["played", "discarded", "game_over"]
    assert top(new) == "blue/cross#0"
    assert new.outcome.winner == 0
