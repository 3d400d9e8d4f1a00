"""Serving processes keep their start-up objects out of later garbage collections (lobby_site/asgi.py)."""

import os
import subprocess
import sys

PROBE = "import gc, lobby_site.asgi; print(gc.get_freeze_count())"


def test_start_up_objects_are_frozen_out_of_full_collections():
    env = {**os.environ, "SECRET_KEY": "a-test-key-that-is-long-enough-for-the-guard-0123456789",
           "DJANGO_SETTINGS_MODULE": "lobby_site.settings", "DEBUG": "false"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    frozen = int(done.stdout.split()[-1])

    assert frozen > 20_000  # Django and the apps, not only the interpreter's own
