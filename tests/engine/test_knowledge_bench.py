"""bench/knowledge.py: the hands it compares are what it says they are."""

import importlib.util
import random

from game.engine import search
from tests.servers import ROOT


def _knowledge_bench():
    spec = importlib.util.spec_from_file_location("knowledge", ROOT / "bench" / "knowledge.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_way_samples_a_hand_of_the_seats_size_from_the_unseen_cards_and_exact_ones_explain_its_choices():
    bench = _knowledge_bench()
    checked = 0
    for _, state, seen, history in bench.seat_zero_turns(4, range(6)):
        known = search.read_knowledge(seen, history)
        unseen = search.unseen_cards(seen, known.pile)
        counts = [p["cards_left"] for p in seen["players"]]
        for seat in range(1, 4):
            if not known.choices.get(seat) or not state.hands[seat]:
                continue
            sampled, exact_parts, share = bench.sampled_hands(seen, known, unseen, seat, 3, 500, random.Random(seat))
            assert 0 < share <= 1
            for way in bench.WAYS:
                for hand in sampled[way]:
                    assert len(hand) == counts[seat] == len(set(hand))
                    assert set(hand) <= set(unseen)
            for hand, parts in zip(sampled["exact"], exact_parts, strict=True):
                assert [c for part in parts for c in part] == hand
                assert search.seat_misfits(known, seat, hand, parts if seat in known.layers else None, counts, 1) == 0
                checked += 1
    assert checked > 0


def test_the_measure_reports_every_way_on_the_same_hands():
    result = _knowledge_bench().measure(games=3, players=4, samples=4, tries=400, seed=0)
    assert result["hands_compared"] > 0
    assert set(result["true_cards_pct"]) == set(result["true_normal_cards_pct"]) == {"unseen", "draws", "shipped", "exact"}
    assert all(0 <= share <= 100 for share in result["true_cards_pct"].values())
    assert result["choices_bits_mean"] >= 0
