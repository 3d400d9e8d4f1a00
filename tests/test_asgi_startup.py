"""A serving process is tuned once start-up is done (lobby_site/asgi.py → lobby_site/tuning.py):
its start-up objects are frozen out of later garbage collections, and its threads hand the
GIL over at GIL_SWITCH_INTERVAL."""

import os
import subprocess
import sys

PROBE = "import gc, sys, lobby_site.asgi; print(gc.get_freeze_count(), gc.get_threshold()[0], sys.getswitchinterval())"


def _serving_process_probe(**settings) -> tuple[int, int, float]:
    env = {**os.environ, "SECRET_KEY": "a-test-key-that-is-long-enough-for-the-guard-0123456789",
           "DJANGO_SETTINGS_MODULE": "lobby_site.settings", "DEBUG": "false", **settings}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    frozen, threshold, interval = done.stdout.split()[-3:]
    return int(frozen), int(threshold), float(interval)


def test_start_up_objects_are_frozen_out_of_full_collections():
    frozen, threshold, _ = _serving_process_probe()

    assert frozen > 20_000  # Django and the apps, not only the interpreter's own
    assert threshold == 50_000  # GC_THRESHOLDS' default, not Python's 700


def test_the_switch_interval_and_gc_thresholds_are_settings():
    _, threshold, interval = _serving_process_probe(GIL_SWITCH_INTERVAL="0.002", GC_THRESHOLDS="20000,10,50")

    assert (threshold, interval) == (20_000, 0.002)
