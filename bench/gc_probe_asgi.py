"""The game's ASGI application, with every garbage collection of the process written down.

For `bench/capacity.py --gc-log` only, never for serving. Each line of
`$GC_PROBE_DIR/gc-<pid>.log`: the end of a collection (Unix time), its generation, its wall
time and the CPU time of the thread that ran it (ms: the whole process waits meanwhile), and
the objects it found unreachable.
"""

import gc
import os
import time

from lobby_site.asgi import application  # noqa: F401  (what daphne serves)

_log = open(os.path.join(os.environ["GC_PROBE_DIR"], f"gc-{os.getpid()}.log"), "a", buffering=1)
_started = [0.0, 0.0]  # a collection's start: wall, thread CPU (a collection runs in one thread, holding the GIL)


def _written_down(phase: str, info: dict) -> None:
    if phase == "start":
        _started[:] = time.perf_counter(), time.thread_time()
        return
    wall, cpu = time.perf_counter() - _started[0], time.thread_time() - _started[1]
    _log.write(f"{time.time():.3f} {info['generation']} {1000 * wall:.2f} {1000 * cpu:.2f} {info['collected']}\n")


gc.callbacks.insert(0, _written_down)
