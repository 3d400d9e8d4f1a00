"""What one seat may see: `view` and `events_for_seat` (docs/architecture.md "Hidden information")."""

import json

from game.engine import (
    WIRE,
    apply,
    computer_player,
    computer_rng,
    event_for_seat,
    events_for_seat,
    new_game,
    public_event,
    random_player,
    view,
)

from .helpers import draw, ids, make_state, play, run_game


def card_ids_in(data) -> set[int]:
    """Every card id in a view or event: any dict with an "id" and a "kind" is a card."""
    found = set()
    if isinstance(data, dict):
        if "id" in data and "kind" in data:
            found.add(data["id"])
        for value in data.values():
            found |= card_ids_in(value)
    elif isinstance(data, list):
        for value in data:
            found |= card_ids_in(value)
    return found


def assert_view_keeps_secrets(state, seat):
    seen = view(state, seat)
    json.dumps(seen)  # plain data
    allowed = set(state.hands[seat]) | {state.top_card}
    assert card_ids_in(seen) <= allowed
    prompt = seen["prompt"]
    if prompt and prompt.get("options") and prompt["kind"] != "name":
        assert set(prompt["options"]) <= set(state.hands[seat])


def test_view_shows_own_hand_top_card_and_counts_only():
    state = make_state(["red/cross blue/square", "green/circle green/cup yellow/1", "yellow/circle"])
    seen = view(state, 0)
    assert seen["you"] == {"seat": 0, "hand": [WIRE[c] for c in sorted(ids("red/cross blue/square"))]}
    assert seen["top_card"] == WIRE[ids("red/cup#4")[0]]
    assert seen["players"] == [{"seat": 0, "cards_left": 2}, {"seat": 1, "cards_left": 3},
                               {"seat": 2, "cards_left": 1}]
    assert seen["market_count"] == len(state.market) and seen["pile_count"] == 1
    assert seen["current_seat"] == 0 and seen["awaiting_seat"] == 0
    assert seen["prompt"]["kind"] == "turn"
    assert view(state, 1)["prompt"] is None
    for seat in range(3):
        assert_view_keeps_secrets(state, seat)


def test_view_never_contains_another_seats_hand_during_whole_games():
    for seed in range(12):
        start, _ = new_game(2 + seed % 7, seed=seed)

        def check(state, seat, seen, action):
            for s in range(state.num_players):
                assert_view_keeps_secrets(state, s)

        run_game(start, {s: computer_player for s in range(start.num_players)}, on_decision=check)


def test_events_for_seat_strips_the_cards_of_another_seats_draw():
    state = make_state(["red/cross blue/square", "green/circle"], market="yellow/triangle")
    _, events = draw(state, 0)
    drawer = events_for_seat(events, 0)[0]
    other = events_for_seat(events, 1)[0]
    assert drawer == {"event": "drew", "seat": 0, "count": 1, "reason": "draw",
                      "cards": [WIRE[ids("yellow/triangle")[0]]]}
    assert other == {"event": "drew", "seat": 0, "count": 1, "reason": "draw"}
    assert public_event(events[0]) == other


def test_events_for_seat_turns_public_cards_into_wire_objects():
    state = make_state(["red/cross blue/square green/square", "green/circle"])
    _, events = play(state, 0, "red/cross")
    assert event_for_seat(events[0], 1) == {"event": "played", "seat": 0, "cards": [WIRE[ids("red/cross")[0]]]}


def test_events_never_contain_another_seats_hand_during_whole_games():
    """Every event as seat A sees it holds no card object of another seat's hand."""
    for seed in range(12):
        state, _ = new_game(2 + seed % 7, seed=seed)
        while state.outcome is None:
            seat = state.awaiting["seat"]
            action = random_player(view(state, seat), [], computer_rng(state, seat))
            state, events = apply(state, seat, action)
            for s in range(state.num_players):
                hidden = {c for o in range(state.num_players) if o != s for c in state.hands[o]}
                for event in events_for_seat(events, s):
                    assert not card_ids_in(event) & hidden, event


def test_a_wrong_play_penalty_does_not_name_the_cards_to_other_seats():
    """R9: the cards of a wrong play go back to the hand, so they are hidden again.

    docs/protocol.md: `penalty {seat, reason}` never lists cards; docs/architecture.md: no frame sent to
    seat A may contain a card of seat B's hand.
    """
    state = make_state(["blue/cross red/square", "green/circle"])
    new, events = play(state, 0, "blue/cross")
    assert ids("blue/cross")[0] in new.hands[0]
    penalty = event_for_seat(events[0], 1)
    assert penalty["event"] == "penalty"
    assert "blue/cross" not in json.dumps(penalty)
