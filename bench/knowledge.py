"""How much `hard`'s sampled hands know of the true ones (issue: computer levels, the 4-player goal).

Plays seeded games with the normal player in every seat and, at seat 0's turn prompts, samples
the other seats' hands four ways from what seat 0 knows (game/engine/search.py):

* `unseen`: cards drawn at random from the cards seat 0 cannot place;
* `draws`: layer by layer, each avoiding what the seat showed it lacks when it drew (R6, R10,
  R11b), its choices unused;
* `shipped`: the hands `hard` plays on (the best of DEAL_TRIES tries at explaining the seat's
  recorded choices);
* `exact`: the same beliefs as `shipped`, but only hands that explain every recorded choice,
  sampled by rejection (up to `--tries` tries): the most that this information can tell.

For each it prints the share of sampled cards that are in the true hand (all cards, and the
true hand's normal cards), and the information the choices carry: −log2 of the share of
`draws` hands that explain them. Not a timing: run it alone or not, the figures are the same.

    .venv/bin/python bench/knowledge.py [--games 200] [--players 4] [--samples 20] [--tries 3000]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from game.engine import search  # noqa: E402
from game.engine.cards import NORMAL_COUNT  # noqa: E402
from game.engine.levels import choose  # noqa: E402
from game.engine.rules import apply, new_game  # noqa: E402
from game.engine.state import computer_rng  # noqa: E402
from game.engine.view import public_event, view  # noqa: E402

WAYS = ("unseen", "draws", "shipped", "exact")


def seat_zero_turns(players: int, seeds):
    """Yield (seed, state, seat 0's view, public history) at each of seat 0's turn prompts in
    games played by the normal player in every seat, one game per seed. Use each before the next:
    the history grows in place."""
    for game in seeds:
        state, events = new_game(players, game)
        history = [public_event(e) for e in events]
        while state.outcome is None:
            mover = state.awaiting["seat"]
            seen = view(state, mover)
            if mover == 0 and seen["prompt"]["kind"] == "turn":
                yield game, state, seen, history
            state, events = apply(state, mover, choose("normal", seen, history, computer_rng(state, mover)))
            history.extend(public_event(e) for e in events)


def sampled_hands(seen: dict, known: search.Knowledge, unseen: list[int], seat: int, samples: int, tries: int,
                  rng: random.Random) -> tuple[dict[str, list[list[int]]], list[list[list[int]]], float]:
    """Return `samples` hands of `seat` each way, the `exact` hands split by layer, and the share
    of `draws` hands that explain the seat's choices."""
    count = seen["players"][seat]["cards_left"]
    layers = known.layers.get(seat) or [search.Layer(frozenset(), None)]
    sizes = search._layer_sizes(layers, count)
    counts = [p["cards_left"] for p in seen["players"]]

    def by_layers() -> tuple[list[int], list[list[int]]]:
        parts = search._deal_seat(layers, sizes, unseen, rng)
        return [c for part in parts for c in part], parts

    hands = {
        "unseen": [rng.sample(unseen, count) for _ in range(samples)],
        "draws": [by_layers()[0] for _ in range(samples)],
        "shipped": [search._deal_hands(seen, known, unseen, rng)[0][seat] for _ in range(samples)],
        "exact": [],
    }
    exact_parts: list[list[list[int]]] = []
    tried = 0
    while len(hands["exact"]) < samples and tried < tries:
        tried += 1
        held, parts = by_layers()
        if search.seat_misfits(known, seat, held, parts if seat in known.layers else None, counts, 1) == 0:
            hands["exact"].append(held)
            exact_parts.append(parts)
    return hands, exact_parts, len(hands["exact"]) / tried


def measure(games: int, players: int, samples: int, tries: int, seed: int) -> dict:
    right = {way: [] for way in WAYS}  # per sampled hand: the share of its cards in the true hand
    right_normal = {way: [] for way in WAYS}  # the share of the true hand's normal cards it holds
    explained: list[float] = []
    for game, state, seen, history in seat_zero_turns(players, range(seed, seed + games)):
        known = search.read_knowledge(seen, history)
        unseen = search.unseen_cards(seen, known.pile)
        rng = random.Random(game * 100_003 + state.action_count)
        for seat in range(1, players):
            true = set(state.hands[seat])
            if not true or not known.choices.get(seat):
                continue  # nothing to explain: every way but `unseen` is `draws`
            hands, _, share = sampled_hands(seen, known, unseen, seat, samples, tries, rng)
            explained.append(share)
            if len(hands["exact"]) < samples:
                continue  # compare the ways on the same positions only
            normal = {c for c in true if c < NORMAL_COUNT}
            for way, drawn in hands.items():
                for hand in drawn:
                    right[way].append(len(true.intersection(hand)) / len(true))
                    if normal:
                        right_normal[way].append(len(normal.intersection(hand)) / len(normal))
    return {
        "games": games, "players": players, "hands_compared": len(right["exact"]) // samples,
        "true_cards_pct": {way: round(100 * statistics.mean(right[way]), 2) for way in WAYS},
        "true_normal_cards_pct": {way: round(100 * statistics.mean(right_normal[way]), 2) for way in WAYS},
        "choices_bits_mean": round(statistics.mean(-math.log2(max(share, 1 / tries)) for share in explained), 2),
        "explained_share_median": round(statistics.median(explained), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--players", type=int, default=4)
    parser.add_argument("--samples", type=int, default=20, help="hands sampled each way per seat and position")
    parser.add_argument("--tries", type=int, default=3000, help="rejection tries for the `exact` hands")
    parser.add_argument("--seed", type=int, default=0, help="game k is played with seed `seed + k`")
    args = parser.parse_args()
    result = measure(args.games, args.players, args.samples, args.tries, args.seed)
    print("| way | sampled cards in the true hand | true normal cards sampled |")
    print("|---|---|---|")
    for way in WAYS:
        print(f"| {way} | {result['true_cards_pct'][way]}% | {result['true_normal_cards_pct'][way]}% |")
    print(f"hands compared: {result['hands_compared']}; the choices explain a median "
          f"{result['explained_share_median']:.1%} of `draws` hands: {result['choices_bits_mean']} bits a hand")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
