"""`manage.py simulate` (issue: foundation §4): summary, --json, --check, and bad arguments."""

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
