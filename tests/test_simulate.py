"""`manage.py simulate` (issues: foundation §4, levels): summary, --json, --check, --tournament, bad arguments."""

import json

import pytest
from django.core.management import CommandError, call_command

from game.engine.simulate import InvariantBroken, check_invariants, play_game
from game.engine import new_game


def run_simulate(capsys, *args):
    call_command("simulate", *args)
    return capsys.readouterr().out.strip().splitlines()


def test_simulate_json_is_the_last_line_and_counts_every_game(capsys):
    lines = run_simulate(capsys, "--games", "20", "--players", "3", "--seed", "5", "--json", "--check")
    summary = json.loads(lines[-1])
    assert summary["games"] == 20
    assert sum(summary["wins"].values()) == 20
    assert set(summary["wins"]) == {"computer", "random"}
    assert summary["checks"] == "ok"
    assert summary["mean_turns"] > 0 and summary["games_per_second"] > 0


def test_simulate_is_deterministic_for_a_seed(capsys):
    first = json.loads(run_simulate(capsys, "--games", "10", "--seed", "7", "--json")[-1])
    second = json.loads(run_simulate(capsys, "--games", "10", "--seed", "7", "--json")[-1])
    assert first["wins"] == second["wins"] and first["mean_turns"] == second["mean_turns"]


def test_simulate_one_strategy_wins_every_game(capsys):
    summary = json.loads(run_simulate(capsys, "--games", "5", "--strategies", "random", "--json")[-1])
    assert summary["wins"] == {"random": 5}


@pytest.mark.parametrize("args", [["--strategies", "clever"], ["--players", "9"], ["--games", "0"]])
def test_simulate_refuses_bad_arguments(args):
    with pytest.raises(CommandError):
        call_command("simulate", *args)


def test_check_invariants_catches_a_lost_card():
    state, events = new_game(2, 3)
    state.market.pop()  # a card vanishes: R16 must notice
    with pytest.raises(InvariantBroken, match="R16"):
        check_invariants(state, events)


def test_play_game_plays_to_an_outcome():
    result = play_game(4, 11, ("computer", "random"), check=True)
    assert 0 <= result.winner < 4 and result.reason in ("won", "stalemate", "max_turns")
    assert result.strategies == ("computer", "random", "computer", "random")


def test_simulate_plays_the_levels_against_each_other(capsys):
    lines = run_simulate(capsys, "--games", "4", "--strategies", "hard,normal", "--budget", "8", "--json", "--check")
    summary = json.loads(lines[-1])
    assert summary["games"] == 4 and sum(summary["wins"].values()) == 4
    assert set(summary["wins"]) == {"hard", "normal"} and summary["checks"] == "ok"


def test_simulate_one_hard_among_three_normal(capsys):
    summary = json.loads(run_simulate(capsys, "--games", "4", "--players", "4", "--strategies",
                                      "hard,normal,normal,normal", "--budget", "4", "--json")[-1])
    assert set(summary["wins"]) == {"hard", "normal"} and sum(summary["wins"].values()) == 4


def test_tournament_plays_every_pair_and_prints_intervals(capsys):
    lines = run_simulate(capsys, "--tournament", "easy,normal,random", "--games", "6", "--seed", "3", "--json")
    summary = json.loads(lines[-1])
    assert summary["tournament"] == ["easy", "normal", "random"] and summary["games_per_pair"] == 6
    pairs = {(p["first"], p["second"]): p for p in summary["pairs"]}
    assert set(pairs) == {("easy", "normal"), ("easy", "random"), ("normal", "random")}
    for pair in pairs.values():
        low, high = pair["ci95"]
        assert pair["games"] == 6 and 0 <= low <= pair["rate"] <= high <= 1
        assert pair["rate"] == round(pair["first_wins"] / 6, 4)
    table = "\n".join(lines[:-1])
    assert "easy vs normal" in table and "%" in table and "[" in table
    again = json.loads(run_simulate(capsys, "--tournament", "easy,normal,random", "--games", "6", "--seed", "3",
                                    "--json")[-1])
    assert [p["first_wins"] for p in again["pairs"]] == [p["first_wins"] for p in summary["pairs"]]  # seeded


def test_tournament_alternates_seats():
    """Game k puts the first strategy in seat k % 2, with seed S + k."""
    from game.engine.simulate import play_pair
    result = play_pair("normal", "random", 2, seed=0)
    assert result.games == 2
    first_seat_games = [play_game(2, 0, ("normal", "random")), play_game(2, 1, ("random", "normal"))]
    assert result.first_wins == (first_seat_games[0].winner == 0) + (first_seat_games[1].winner == 1)


def test_wilson_interval_matches_known_values():
    from game.engine.simulate import wilson_interval
    low, high = wilson_interval(60, 100)
    assert round(low, 3) == 0.502 and round(high, 3) == 0.691
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0


@pytest.mark.parametrize("args", [["--tournament", "normal"], ["--tournament", "normal,clever"],
                                  ["--tournament", "normal,normal"], ["--budget", "0"]])
def test_tournament_refuses_bad_arguments(args):
    with pytest.raises(CommandError):
        call_command("simulate", *args)
