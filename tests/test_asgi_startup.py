"""A serving process is tuned once start-up is done (lobby_site/asgi.py → lobby_site/tuning.py):
its start-up objects are frozen out of later garbage collections, its youngest generation is
collected on a clock, and its threads hand the GIL over at GIL_SWITCH_INTERVAL."""

import gc
import os
import subprocess
import sys

PROBE = "import gc, sys, lobby_site.asgi; print(gc.get_freeze_count(), gc.get_threshold()[0], sys.getswitchinterval())"


def _printed_by_a_serving_process(code: str, **settings) -> list[str]:
    """Run `code` in a new interpreter set up as a serving process; return the last three words it printed."""
    env = {**os.environ, "SECRET_KEY": "a-test-key-that-is-long-enough-for-the-guard-0123456789",
           "DJANGO_SETTINGS_MODULE": "lobby_site.settings", "DEBUG": "false", **settings}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-3:]


def _serving_process_probe(**settings) -> tuple[int, int, float]:
    frozen, threshold, interval = _printed_by_a_serving_process(PROBE, **settings)
    return int(frozen), int(threshold), float(interval)


def test_start_up_objects_are_frozen_out_of_full_collections():
    frozen, threshold, _ = _serving_process_probe()

    assert frozen > 20_000  # Django and the apps, not only the interpreter's own
    assert threshold == 50_000  # GC_THRESHOLDS' default, not Python's 700


def test_the_switch_interval_and_gc_thresholds_are_settings():
    _, threshold, interval = _serving_process_probe(GIL_SWITCH_INTERVAL="0.002", GC_THRESHOLDS="20000,10,50")

    assert (threshold, interval) == (20_000, 0.002)


# Under daphne (which installs its reactor before it imports the app), count the collections
# of each generation while the reactor runs for a second with nothing to do.
CLOCK_PROBE = """
import gc, daphne.server, lobby_site.asgi
from twisted.internet import reactor
collected = [0, 0, 0]
gc.callbacks.append(lambda phase, info: phase == "stop" and collected.__setitem__(info["generation"], collected[info["generation"]] + 1))
reactor.callLater(1.0, reactor.stop)
reactor.run()
print(*collected)
"""


def _collections_in_a_second_under_daphne(**settings) -> list[int]:
    return [int(count) for count in _printed_by_a_serving_process(CLOCK_PROBE, **settings)]


def test_under_daphne_the_young_generation_is_collected_on_a_clock_not_only_by_its_count():
    # An idle second makes far fewer than GC_THRESHOLDS[0] objects: the count alone would
    # collect nothing.
    young, _, _ = _collections_in_a_second_under_daphne(GC_YOUNG_INTERVAL="0.1")

    assert young >= 5


def test_the_young_generations_clock_is_a_setting_and_zero_stops_it():
    young, _, _ = _collections_in_a_second_under_daphne(GC_YOUNG_INTERVAL="0")

    assert young == 0


def test_an_older_generation_is_collected_when_its_count_passes_its_threshold():
    from lobby_site.tuning import collect_young_generation

    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], 2, 1000)
    try:
        gc.collect(1)  # the count of generation 1 starts at 0
        due = [collect_young_generation() for _ in range(4)]
    finally:
        gc.set_threshold(*thresholds)

    assert due == [0, 0, 0, 1]  # each young collection counts one for generation 1
