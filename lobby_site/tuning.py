"""How a serving process is tuned once start-up is done (lobby_site/asgi.py calls it last).

Two settings of the interpreter, both about the process's pauses rather than its work:

* **Thread switching** (`GIL_SWITCH_INTERVAL`). A daphne process runs two busy threads: the
  event loop (sockets) and the ORM thread (every service call). Each time the loop makes a
  system call — a send, an epoll wait — it lets go of the GIL, and the ORM thread, in the
  middle of a move, keeps it until the interpreter asks it to let go: after 5 ms by default.
  py-spy with native frames showed the loop's thread a quarter of its time waiting for the
  GIL at 1,500 players. A shorter interval hands it back sooner but switches more often:
  0.0005 made the PostgreSQL + Redis deployment slower (its every round trip hands the GIL
  over), so the default stays Python's and the setting is there to measure with.
* **Garbage collection** (`GC_THRESHOLDS`, then `gc.freeze()`): young objects (frames,
  messages) die before a collection promotes them and full collections stay rare; what
  start-up made (~90,000 objects: Django, the apps, the URL patterns), which lives as long as
  the process, is frozen out of every later collection — a full collection of those alone
  took 28 ms, a stall every socket of the process felt.
"""

from __future__ import annotations

import gc
import sys

from django.conf import settings


def tune_serving_process() -> None:
    """Set the interpreter's thread switching and garbage collector for serving (docs/operations.md)."""
    sys.setswitchinterval(settings.GIL_SWITCH_INTERVAL)
    gc.set_threshold(*settings.GC_THRESHOLDS)
    gc.collect()
    gc.freeze()  # last: everything start-up made is kept out of later collections
