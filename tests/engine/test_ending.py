"""R13–R16a: the last card, winning, the empty market, conservation and stalemates."""

import pytest

from .helpers import (
    assert_conserved,
    discard,
    draw,
    draws,
    give,
    ids,
    kinds,
    make_state,
    name,
    only,
    play,
    snapshot,
    top,
)

# --- R13 ------------------------------------------------------------------------------


def test_r13_one_card_left_without_a_call_draws_one():
    state = make_state(["red/cross blue/square", "green/circle"], market="yellow/triangle")
    new, events = play(state, 0, "red/cross")
    assert kinds(events) == ["played", "penalty", "drew", "turn"]
    assert events[1]["reason"] == "last_card" and events[1]["seat"] == 0
    assert draws(events) == [(0, 1, "last_card")]
    assert len(new.hands[0]) == 2


def test_r13_one_card_left_with_the_call_no_draw():
    state = make_state(["red/cross blue/square", "green/circle"])
    new, events = play(state, 0, "red/cross", call=True)
    assert kinds(events) == ["played", "last_card", "turn"]
    assert events[1] == {"event": "last_card", "seat": 0}
    assert new.hands[0] == list(ids("blue/square"))


def test_r13_an_unneeded_call_is_ignored():
    state = make_state(["red/cross blue/square green/square", "green/circle"])
    new, events = play(state, 0, "red/cross", call=True)
    assert kinds(events) == ["played", "turn"]
    assert len(new.hands[0]) == 2


def test_r13_the_call_carried_by_the_discard_answer():
    state = make_state(["red/- blue/cross green/square", "green/circle"])
    state, _ = play(state, 0, "red/-")
    new, events = discard(state, 0, "blue/cross", call=True)
    assert kinds(events) == ["discarded", "last_card", "turn"]
    assert new.hands[0] == list(ids("green/square"))


def test_r13_the_call_carried_by_the_turn_answer_counts_after_the_discard():
    state = make_state(["red/- blue/cross green/square", "green/circle"])
    state, _ = play(state, 0, "red/-", call=True)
    new, events = discard(state, 0, "blue/cross")
    assert kinds(events) == ["discarded", "last_card", "turn"]


def test_r13_checked_after_the_extra_discards_without_a_call():
    state = make_state(["red/- blue/cross green/square", "green/circle"], market="yellow/triangle")
    state, events = play(state, 0, "red/-")
    assert not only(events, "penalty")  # two cards left while the discard is owed
    new, events = discard(state, 0, "blue/cross")
    assert kinds(events) == ["discarded", "penalty", "drew", "turn"]
    assert draws(events) == [(0, 1, "last_card")]


def test_r13_play_again_ends_the_turn_too():
    state = make_state(["red/-> blue/cross", "green/circle"], market="yellow/triangle")
    new, events = play(state, 0, "red/->")
    assert kinds(events) == ["played", "skipped", "penalty", "drew", "turn"]
    assert draws(events) == [(0, 1, "last_card")]
    assert new.awaiting == {"kind": "turn", "seat": 0}


def test_r13_play_again_after_a_combination_with_the_call():
    state = make_state(["red/? blue/-> green/cross", "green/circle", "yellow/circle"])
    new, events = play(state, 0, "red/? blue/->", call=True)
    assert kinds(events) == ["played", "skipped", "skipped", "last_card", "turn"]
    assert new.awaiting == {"kind": "turn", "seat": 0}
    assert len(new.hands[0]) == 1


def test_r13_the_asker_is_checked_when_the_turn_ends_after_the_give():
    state = make_state(["red/? red/cross", "blue/cup blue/circle green/1", "green/circle"])
    state, _ = play(state, 0, "red/?")
    state, _ = name(state, 0, "cup")
    new, events = give(state, 1, "blue/cup")
    assert kinds(events) == ["gave", "penalty", "drew", "turn"]
    assert draws(events) == [(0, 1, "last_card")]


def test_r13_giving_a_card_to_a_question_never_needs_a_call():
    state = make_state(["red/? red/cross red/square", "blue/cup blue/circle", "green/circle"])
    state, _ = play(state, 0, "red/?")
    state, _ = name(state, 0, "cup")
    new, events = give(state, 1, "blue/cup")
    assert kinds(events) == ["gave", "turn"]
    assert new.hands[1] == list(ids("blue/circle"))


def test_r13_losing_a_card_to_a_combination_never_needs_a_call():
    state = make_state(["red/- blue/-> red/cross red/square", "green/? green/circle", "yellow/circle"])
    new, events = play(state, 0, "red/- blue/->")
    assert kinds(events) == ["played", "lost_special", "turn"]
    assert new.hands[1] == list(ids("green/circle"))


def test_r13_answering_a_pick_with_one_card_left_needs_the_call():
    state = make_state(["red/cross red/square", "blue/1 green/cross", "green/circle"],
                       pile="red/cup red/1", pending=("pick_one", 1), current=1)
    new, events = play(state, 1, "blue/1")
    assert kinds(events) == ["played", "pick_pending", "penalty", "drew", "turn"]
    assert draws(events) == [(1, 1, "last_card")]


def test_r13_a_turn_without_laying_cards_needs_no_call():
    state = make_state(["blue/cross", "green/circle"])
    state.market, state.hands[1] = [], state.hands[1] + state.market  # nothing to draw
    new, events = draw(state, 0)
    assert kinds(events) == ["drew", "turn"]
    assert len(new.hands[0]) == 1


# --- R14 ------------------------------------------------------------------------------


def test_r14_win_by_playing_the_last_card():
    state = make_state(["red/cross", "green/circle blue/circle", "green/square"])
    new, events = play(state, 0, "red/cross")
    assert kinds(events) == ["played", "game_over"]
    assert events[-1] == {"event": "game_over", "winner": 0}
    assert new.outcome.winner == 0 and new.outcome.reason == "won"
    assert new.awaiting is None
    assert_conserved(new)


def test_r14_win_by_discarding():
    state = make_state(["red/- blue/- yellow/cross", "green/circle blue/circle"])
    new, events = play(state, 0, "red/- blue/-")
    assert kinds(events) == ["played", "discarded", "game_over"]
    assert new.outcome.winner == 0


def test_r14_win_by_giving_a_card_to_a_question():
    state = make_state(["red/? red/cross red/square", "green/circle", "blue/cup"], market="yellow/square")
    state, _ = play(state, 0, "red/?")
    new, events = name(state, 0, "cup")
    assert new.awaiting == {"kind": "give", "seat": 2}
    new, events = give(new, 2, "blue/cup")
    assert new.outcome.winner == 2


def test_r14_win_by_losing_a_special_to_a_combination():
    state = make_state(["red/- blue/-> red/cross red/square", "green/?", "yellow/circle"])
    new, events = play(state, 0, "red/- blue/->")
    assert kinds(events) == ["played", "lost_special", "game_over"]
    assert new.outcome.winner == 1
    assert top(new) == "green/?"


@pytest.mark.parametrize("cards", ["red/2", "red/->", "red/?", "red/-", "red/? blue/1", "red/? blue/->"])
def test_r14_pending_effects_are_dropped(cards):
    state = make_state([cards, "green/circle blue/circle", "green/square yellow/square"])
    new, events = play(state, 0, cards)
    assert kinds(events) == ["played", "game_over"]
    assert new.pending_pick is None and new.question is None and new.awaiting is None
    assert [len(h) for h in new.hands] == [0, 2, 2]  # nobody drew


def test_r14_win_by_answering_a_pick_drops_the_total():
    state = make_state(["red/cross red/square", "blue/2", "green/circle"],
                       pile="red/cup red/2", pending=("pick_two", 2), current=1)
    new, events = play(state, 1, "blue/2")
    assert kinds(events) == ["played", "game_over"]
    assert new.pending_pick is None


def test_r14_ranking_winner_then_fewest_cards_ties_in_seat_order_after_the_winner():
    state = make_state(["blue/cross blue/square", "green/circle", "red/cross", "yellow/circle yellow/square"],
                       current=2)
    new, _ = play(state, 2, "red/cross")
    assert new.outcome.to_json() == {
        "winner": 2,
        "ranking": [{"seat": 2, "cards_left": 0}, {"seat": 1, "cards_left": 1},
                    {"seat": 3, "cards_left": 2}, {"seat": 0, "cards_left": 2}],
        "reason": "won",
    }


# --- R15 ------------------------------------------------------------------------------


def empty_market(state):
    """Move the whole market under the pile's top card (R16 still holds)."""
    state.pile = state.market + state.pile
    state.market = []
    return state


def test_r15_empty_market_reshuffles_the_pile_but_its_top():
    state = empty_market(make_state(["red/cross blue/square", "green/circle"], pile="red/cup#4"))
    pile_size = len(state.pile)
    new, events = draw(state, 0)
    assert kinds(events) == ["reshuffled", "drew", "turn"]
    assert events[0] == {"event": "reshuffled", "count": pile_size - 1}
    assert new.pile == list(ids("red/cup#4"))
    assert len(new.market) == pile_size - 2
    assert new.rng_counter == state.rng_counter + 1  # seeded: the game's RNG
    assert_conserved(new)


def test_r15_reshuffle_is_seeded():
    state = empty_market(make_state(["red/cross blue/square", "green/circle"]))
    a, _ = draw(state, 0)
    b, _ = draw(state, 0)
    assert snapshot(a) == snapshot(b)
    other = empty_market(make_state(["red/cross blue/square", "green/circle"], seed=2))
    assert draw(other, 0)[0].market != a.market


def test_r15_reshuffle_in_the_middle_of_a_draw():
    state = make_state(["red/cross red/square", "blue/cross green/cross", "green/circle"],
                       pile="red/cup blue/triangle red/1", market="yellow/square", pending=("pick_one", 4),
                       current=1, fill=False)
    new, events = draw(state, 1)
    assert kinds(events) == ["reshuffled", "drew", "turn"]
    assert events[0]["count"] == 2
    assert draws(events) == [(1, 3, "pick")]  # 1 from the market, 2 from the reshuffle, then nothing
    assert new.pile == list(ids("red/1")) and new.market == []
    assert sorted(new.hands[1]) == sorted(ids("blue/cross green/cross yellow/square red/cup blue/triangle"))


def test_r15_nothing_to_draw_gives_a_draw_of_zero():
    state = make_state(["red/cross blue/square", "green/circle"], fill=False)
    new, events = draw(state, 0)
    assert events[0] == {"event": "drew", "seat": 0, "count": 0, "reason": "draw", "cards": []}
    assert kinds(events) == ["drew", "turn"]
    assert new.hands[0] == state.hands[0]


def test_r15_fewer_cards_than_the_total():
    state = make_state(["red/cross red/square", "blue/cross green/cross", "green/circle"],
                       pile="red/2", market="yellow/square", pending=("pick_two", 6), current=1,
                       fill=False)
    new, events = draw(state, 1)
    assert draws(events) == [(1, 1, "pick")]
    assert new.pending_pick is None


# --- R16 ------------------------------------------------------------------------------


def test_r16_conservation_after_every_kind_of_action():
    state = make_state(["red/- blue/? red/cross red/square green/triangle", "green/1 blue/cup blue/circle",
                        "yellow/cup yellow/2 yellow/circle"])
    steps = [
        lambda s: play(s, 0, "red/- blue/?"),  # seat 1 loses green/1 onto the pile
        lambda s: draw(s, 1),
        lambda s: play(s, 2, "yellow/2"),  # a wrong play on green/1
        lambda s: play(s, 0, "green/triangle"),
        lambda s: draw(s, 1),
    ]
    assert_conserved(state)
    for step in steps:
        state, _ = step(state)
        assert_conserved(state)
    assert state.awaiting == {"kind": "turn", "seat": 2}


# --- R16a -----------------------------------------------------------------------------


def test_r16a_stalemate_after_a_full_round_of_nobody_laying_or_drawing():
    state = make_state(["blue/cross blue/square blue/circle", "green/cross green/square",
                        "yellow/cross yellow/square"], pile="red/cup", fill=False)
    state, events = draw(state, 0)
    state, events = draw(state, 1)
    assert state.outcome is None
    state, events = draw(state, 2)
    assert kinds(events) == ["drew", "game_over"]
    # Ties go to the first in turn order from the player whose turn it was (seat 0).
    assert state.outcome.to_json() == {
        "winner": 1,
        "ranking": [{"seat": 1, "cards_left": 2}, {"seat": 2, "cards_left": 2}, {"seat": 0, "cards_left": 3}],
        "reason": "stalemate",
    }
    assert state.awaiting is None


def test_r16a_a_turn_with_a_draw_restarts_the_round():
    state = make_state(["blue/cross blue/square", "green/cross green/square", "yellow/cross yellow/square"],
                       pile="red/cup", market="red/circle", fill=False)
    state, _ = draw(state, 0)  # draws red/circle: not quiet
    state, _ = draw(state, 1)
    state, _ = draw(state, 2)
    assert state.outcome is None
    state, events = draw(state, 0)
    assert state.outcome is not None and state.outcome.reason == "stalemate"
    # Seats 1 and 2 tie on 2 cards; seat 1's turn was next, so seat 1 is first in turn order.
    assert state.outcome.winner == 1


def test_r16a_stalemate_tie_goes_in_turn_order_from_whose_turn_it_was():
    state = make_state(["blue/cross blue/square", "green/cross green/square green/circle",
                        "yellow/cross yellow/square"], pile="red/cup", current=1, fill=False)
    for seat in (1, 2, 0):
        state, _ = draw(state, seat)
    assert state.outcome.reason == "stalemate"
    assert state.outcome.winner == 2  # from seat 1: 1, 2, 0 — seat 2 comes before seat 0
    assert [r["seat"] for r in state.outcome.ranking] == [2, 0, 1]


def test_r16a_max_turns_ends_the_game_fewest_cards_wins():
    state = make_state(["blue/cross blue/square blue/circle", "green/cross green/square"], max_turns=2)
    state, _ = draw(state, 0)
    assert state.outcome is None and state.turn_count == 2
    state, events = draw(state, 1)
    assert kinds(events) == ["drew", "game_over"]
    assert state.outcome.reason == "max_turns"
    assert state.outcome.winner == 1
    assert state.turn_count == 2


def test_r16a_max_turns_tie_goes_in_turn_order_from_whose_turn_it_was():
    state = make_state(["blue/cross blue/square", "green/cross green/square green/circle",
                        "yellow/cross yellow/square"], current=1, max_turns=3)
    for seat in (1, 2, 0):
        state, _ = draw(state, seat)
    assert state.outcome.reason == "max_turns"
    assert state.outcome.to_json()["ranking"] == [
        {"seat": 2, "cards_left": 3}, {"seat": 0, "cards_left": 3}, {"seat": 1, "cards_left": 4}]
