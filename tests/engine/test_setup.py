"""R2–R5: players, the deal, the start card and the first player."""

import pytest

from game.engine import DECK, GameState, new_game
from game.engine.state import HAND_SIZE

from .helpers import assert_conserved, snapshot


def shuffled_deck(seed: int) -> list[int]:
    """The market right after the seeded shuffle: the game's first random choice."""
    probe = GameState(seed=seed, num_players=2, max_turns=1, hands=[], market=list(range(120)), pile=[])
    deck = list(range(120))
    probe.draw_rng().shuffle(deck)
    return deck


@pytest.mark.parametrize("players", [1, 9, 0])
def test_r2_two_to_eight_players(players):
    with pytest.raises(ValueError):
        new_game(players, seed=1)


@pytest.mark.parametrize("players, size", [(2, 8), (3, 6), (4, 5), (5, 5), (6, 5), (7, 5), (8, 4)])
def test_r3_hand_size_by_player_count(players, size):
    state, _ = new_game(players, seed=7)
    assert [len(h) for h in state.hands] == [size] * players
    assert HAND_SIZE[players] == size
    assert len(state.pile) == 1
    assert len(state.market) == 120 - players * size - 1
    assert_conserved(state)


@pytest.mark.parametrize("players", [2, 3, 5, 8])
def test_r3_deal_one_card_at_a_time_round_robin_from_seat_0(players):
    seed = 11
    state, _ = new_game(players, seed=seed)
    deck = shuffled_deck(seed)  # the market's top is its last element
    size = HAND_SIZE[players]
    for seat in range(players):
        expected = [deck[-1 - (k * players + seat)] for k in range(size)]
        assert state.hands[seat] == expected


def test_r4_start_card_is_always_normal():
    for seed in range(200):
        state, _ = new_game(2 + seed % 7, seed=seed)
        assert len(state.pile) == 1
        assert DECK[state.pile[0]].kind == "normal"


def test_r4_special_start_cards_go_to_the_bottom_of_the_market():
    """Find seeds whose first turned-up card is special: it ends at the bottom, in order."""
    seen = 0
    for seed in range(300):
        players = 4
        rest = shuffled_deck(seed)[: 120 - players * HAND_SIZE[players]]
        turned = []
        while DECK[rest[-1]].kind == "special":
            turned.append(rest.pop())
        if not turned:
            continue
        seen += 1
        state, _ = new_game(players, seed=seed)
        assert state.pile == [rest[-1]]
        # Each special in turn went under the market: the last one turned is the very bottom.
        assert state.market[: len(turned)] == list(reversed(turned))
        assert_conserved(state)
    assert seen > 0, "no seed in range turns up a special start card"


def test_r5_first_player_is_drawn_from_the_seed():
    firsts = {new_game(4, seed=seed)[0].current for seed in range(60)}
    assert firsts == {0, 1, 2, 3}


def test_r5_new_game_prompts_the_first_player_for_a_turn():
    state, events = new_game(3, seed=5)
    assert state.awaiting == {"kind": "turn", "seat": state.current}
    assert events == [{"event": "turn", "seat": state.current}]
    assert state.pending_pick is None and state.question is None and state.outcome is None


def test_r5_same_seed_same_game():
    a, events_a = new_game(5, seed=1234)
    b, events_b = new_game(5, seed=1234)
    assert snapshot(a) == snapshot(b)
    assert events_a == events_b


def test_r5_different_seeds_usually_different_games():
    hands = {tuple(new_game(3, seed=seed)[0].hands[0]) for seed in range(20)}
    assert len(hands) == 20
