"""R17: the computer player — legal plays only, every prompt, the view only, its own RNG."""

import copy
import json
import random

import pytest

from game.engine import (
    STRATEGIES,
    Give,
    Play,
    apply,
    check_action,
    check_play,
    computer_player,
    computer_rng,
    new_game,
    random_player,
    view,
)

from .helpers import assert_conserved, ids, make_state, name, play, run_game, snapshot

GAMES = [(players, seed) for seed in range(40) for players in (2, 3, 5, 8) if (seed + players) % 2 == 0]


def check_decision(state, seat, seen, action):
    """The answer is a legal move (not a wrong play) to the current prompt."""
    check_action(state, seat, action)  # not refused
    kind = state.awaiting["kind"]
    if isinstance(action, Play) and action.cards:
        assert check_play(list(action.cards), state.top_card, state.pending_pick) is None
    if kind == "discard":
        assert len(action.cards) == state.awaiting["count"]


@pytest.mark.parametrize("strategy", ["computer", "random"])
def test_r17_only_legal_plays_in_many_seeded_games(strategy):
    prompts = set()

    def on_decision(state, seat, seen, action):
        check_decision(state, seat, seen, action)
        prompts.add(state.awaiting["kind"])

    for players, seed in GAMES:
        start, _ = new_game(players, seed=seed)
        end = run_game(start, {s: STRATEGIES[strategy] for s in range(players)}, on_decision=on_decision)
        assert end.outcome is not None
    assert prompts == {"turn", "name", "give", "discard"}  # every prompt kind was answered


def test_r17_never_a_wrong_play_penalty_in_computer_games():
    for players, seed in GAMES[:30]:
        state, _ = new_game(players, seed=seed)
        while state.outcome is None:
            seat = state.awaiting["seat"]
            action = computer_player(view(state, seat), [], computer_rng(state, seat))
            state, events = apply(state, seat, action)
            assert not [e for e in events if e["event"] == "penalty" and e["reason"] == "wrong_play"]
            assert_conserved(state)


@pytest.mark.parametrize("scenario, kind", [
    (dict(hands=["red/? red/cross red/square", "blue/cup green/cup", "green/circle"]), "name"),
    (dict(hands=["red/- red/cross red/square", "blue/cup green/cup", "green/circle"]), "discard"),
    (dict(hands=["blue/cross green/triangle", "green/circle"]), "turn"),  # nothing to play: draws
    (dict(hands=["red/cross red/square", "blue/1 green/cross"], pile="red/cup red/1", pending=("pick_one", 1),
          current=1), "turn"),
])
def test_r17_answers_each_prompt_from_the_view_alone(scenario, kind):
    state = make_state(**scenario)
    if kind != "turn":
        first = "red/?" if kind == "name" else "red/-"
        state, _ = play(state, 0, first)
    seat = state.awaiting["seat"]
    assert state.awaiting["kind"] == kind
    seen = json.loads(json.dumps(view(state, seat)))  # plain data, nothing of the engine's state
    kept = copy.deepcopy(seen)
    action = computer_player(seen, [], random.Random(1))
    assert seen == kept  # the view is read, not changed
    check_decision(state, seat, seen, action)


def test_r17_give_prompt_answered_with_an_offered_card():
    state = make_state(["red/? red/cross red/square", "blue/cup green/cup blue/circle", "green/circle"])
    state, _ = play(state, 0, "red/?")
    state, _ = name(state, 0, "cup")
    seen = view(state, 1)
    action = computer_player(seen, [], computer_rng(state, 1))
    assert isinstance(action, Give) and action.card in seen["prompt"]["options"]


def test_r17_computer_takes_a_winning_play():
    state = make_state(["red/cross", "green/circle blue/circle"])
    action = computer_player(view(state, 0), [], computer_rng(state, 0))
    assert action.cards == ids("red/cross")


def test_r17_computer_rng_is_separate_from_the_game_rng():
    """Choosing changes nothing in the game (rng_counter included) and uses no global RNG."""
    for players, seed in GAMES[:10]:
        state, _ = new_game(players, seed=seed)
        for _ in range(60):
            if state.outcome is not None:
                break
            seat = state.awaiting["seat"]
            before = snapshot(state)
            counter = state.rng_counter
            random.seed(1)
            a = computer_player(view(state, seat), [], computer_rng(state, seat))
            random.seed(2)
            b = computer_player(view(state, seat), [], computer_rng(state, seat))
            assert a == b  # the global random module plays no part
            assert snapshot(state) == before and state.rng_counter == counter
            state, _ = apply(state, seat, a)


def test_r17_computer_rng_derives_from_seed_seat_and_action_count():
    state, _ = new_game(3, seed=9)
    assert computer_rng(state, 0).random() == computer_rng(state, 0).random()
    assert computer_rng(state, 0).random() != computer_rng(state, 1).random()
    other, _ = new_game(3, seed=10)
    assert computer_rng(state, 0).random() != computer_rng(other, 0).random()


def test_r17_random_player_picks_among_every_legal_answer_and_always_calls():
    state = make_state(["red/cross red/1 blue/1 blue/cup", "green/circle"])
    seen = view(state, 0)
    chosen = {random_player(seen, [], random.Random(k)) for k in range(400)}
    assert all(a.last_card for a in chosen)
    # Singles that match red/cup, the stack whose first card matches, and the draw.
    assert {a.cards for a in chosen} == {ids("red/cross"), ids("red/1"), ids("blue/cup"), ids("red/1 blue/1"), ()}


def test_r17_computer_beats_the_random_player_more_often_than_not():
    """Over 200 seeded two-player games, alternating seats (a weak, non-flaky bound)."""
    wins = 0
    for seed in range(200):
        seat = seed % 2
        start, _ = new_game(2, seed=seed)
        end = run_game(start, {seat: computer_player, 1 - seat: random_player})
        wins += end.outcome.winner == seat
    assert wins > 120
