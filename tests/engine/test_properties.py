"""Properties of whole games under arbitrary answers (hypothesis).

Each example deals a game from an arbitrary seed and player count, then feeds it a
sequence of moves: legal answers chosen by index among the prompt's options, random
plays of held cards (often wrong plays, R9) and junk that must be refused without any
change (R9, second paragraph).
"""

import json
import random
from itertools import permutations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from game.engine import (
    Discard,
    GameState,
    Give,
    IllegalAction,
    Name,
    Play,
    apply,
    check_play,
    events_for_seat,
    legal_plays,
    new_game,
    prompt_for,
    view,
)

from .helpers import assert_conserved, legal_answers, snapshot

PROPERTY = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

games = st.tuples(st.integers(0, 2**32 - 1), st.integers(2, 8))
moves = st.lists(st.tuples(st.sampled_from(["legal", "legal", "legal", "wrong", "junk"]),
                           st.integers(0, 2**31 - 1)), min_size=10, max_size=200)
# Then, half the time, legal answers (seeded) until the game ends, so endings are covered too.
finish = st.booleans()
MAX_ACTIONS = 3000


def legal_move(state, seat, rng):
    prompt = prompt_for(state, seat)
    if prompt["kind"] == "discard":  # any `count` held cards, in any order
        return Discard(cards=tuple(rng.sample(state.hands[seat], prompt["count"])), last_card=rng.random() < 0.5)
    answer = rng.choice(legal_answers(state, seat))
    if isinstance(answer, Play):
        return Play(cards=answer.cards, last_card=rng.random() < 0.5)
    return answer


def wrong_move(state, seat, rng):
    """A play of 1–3 held cards in any order: usually a wrong play, sometimes legal."""
    if state.awaiting["kind"] != "turn":
        return legal_move(state, seat, rng)
    hand = state.hands[seat]
    return Play(cards=tuple(rng.sample(hand, min(len(hand), rng.randint(1, 3)))))


def junk_moves(state, seat, rng):
    """Answers that are not moves at all, each with the error code it must get."""
    kind = state.awaiting["kind"]
    hand = state.hands[seat]
    others = [c for c in range(120) if c not in hand]
    right_kind = {"turn": lambda cards: Play(cards=cards), "give": lambda cards: Give(cards[0]),
                  "discard": lambda cards: Discard(cards=cards)}
    junk = [
        ((seat + rng.randint(1, state.num_players - 1)) % state.num_players, Play(), "NOT_YOUR_TURN"),
        (seat, Name("skip") if kind == "name" else Name("cup"), "INVALID"),
    ]
    if kind != "turn":
        junk.append((seat, Play(), "INVALID"))
    if kind in right_kind:
        make = right_kind[kind]
        junk.append((seat, make(tuple(rng.sample(others, state.awaiting.get("count", 1)))), "NOT_IN_HAND"))
        if kind != "give":
            card = rng.choice(hand)
            junk.append((seat, make((card, card)), "INVALID"))
    return junk


def all_moves(moves, finish, seed):
    yield from moves
    if finish:
        rng = random.Random(seed)
        for _ in range(MAX_ACTIONS):
            yield "legal", rng.randrange(2**31)


def play_out(seed, players, moves, finish=False, check=None):
    """Run the moves; return the applied (seat, action) list, the events and the final state."""
    state, events = new_game(players, seed=seed)
    log, all_events = [], [events]
    for kind, k in all_moves(moves, finish, seed):
        rng = random.Random(k)
        if state.outcome is not None:
            before = snapshot(state)
            try:
                apply(state, rng.randrange(players), Play())
            except IllegalAction as error:
                assert error.code == "NO_PENDING_PROMPT"
            else:
                raise AssertionError("an answer after the game was over was accepted")
            assert snapshot(state) == before
            break
        seat = state.awaiting["seat"]
        if kind == "junk":
            for who, action, code in junk_moves(state, seat, rng):
                before = snapshot(state)
                try:
                    apply(state, who, action)
                except IllegalAction as error:
                    assert error.code == code, (action, error)
                else:
                    raise AssertionError(f"junk {action!r} by seat {who} was accepted")
                assert snapshot(state) == before
            continue
        action = legal_move(state, seat, rng) if kind == "legal" else wrong_move(state, seat, rng)
        before = snapshot(state)
        new, events = apply(state, seat, action)
        assert snapshot(state) == before  # apply never changes the old state
        log.append((seat, action))
        all_events.append(events)
        state = new
        if check is not None:
            check(state, events)
    return log, all_events, state


@PROPERTY
@given(games, moves, finish)
def test_property_r16_conservation_after_every_action(game, moves, finish):
    play_out(*game, moves, finish, check=lambda state, events: assert_conserved(state))


@PROPERTY
@given(games, moves, finish)
def test_property_state_json_round_trip_is_exact(game, moves, finish):
    def check(state, events):
        data = json.loads(json.dumps(state.to_json()))
        again = GameState.from_json(data)
        assert again == state
        assert json.dumps(again.to_json(), sort_keys=True) == snapshot(state)
        json.dumps(events)

    play_out(*game, moves, finish, check=check)


@PROPERTY
@given(games, moves, finish)
def test_property_same_seed_and_actions_replay_identically(game, moves, finish):
    seed, players = game
    log, events, final = play_out(seed, players, moves, finish)
    state, first = new_game(players, seed=seed)
    replayed = [first]
    for seat, action in log:
        state, step = apply(GameState.from_json(json.loads(json.dumps(state.to_json()))), seat, action)
        replayed.append(step)
    assert snapshot(state) == snapshot(final)
    assert replayed == events


@PROPERTY
@given(games, moves, finish)
def test_property_views_and_events_never_leak_another_hand(game, moves, finish):
    def check(state, events):
        for seat in range(state.num_players):
            seen = json.dumps(view(state, seat))
            hidden = {c for other in range(state.num_players) if other != seat for c in state.hands[other]}
            visible_ids = {card["id"] for card in view(state, seat)["you"]["hand"]}
            assert visible_ids == set(state.hands[seat])
            assert view(state, seat)["top_card"]["id"] == state.top_card
            for c in hidden:
                assert f'"id": {c},' not in seen
            for event in events_for_seat(events, seat):
                if event["event"] == "drew" and event["seat"] != seat:
                    assert "cards" not in event

    play_out(*game, moves, finish, check=check)


hands = st.lists(st.integers(0, 119), min_size=1, max_size=7, unique=True)
pending_picks = st.one_of(st.none(), st.tuples(st.sampled_from(["pick_one", "pick_two"]), st.integers(1, 12)))


@settings(max_examples=100, deadline=None, database=None)
@given(hands, st.integers(0, 99), pending_picks)
def test_property_r8_legal_plays_are_exactly_the_plays_check_play_accepts(hand, top, pending):
    """Legality in layers: `legal_plays` enumerates what `check_play` accepts (plays of up to 3 cards)."""
    hand = [c for c in hand if c != top] or [top + 1 if top < 99 else 0]
    pick = {"symbol": pending[0], "total": pending[1]} if pending else None
    plays = legal_plays(hand, top, pick)
    assert len(plays) == len(set(plays))
    for p in plays:
        assert check_play(list(p), top, pick) is None
    short = {p for p in plays if len(p) <= 3}
    accepted = {p for k in (1, 2, 3) for p in permutations(hand, k) if check_play(list(p), top, pick) is None}
    assert short == accepted
