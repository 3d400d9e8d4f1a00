"""How a serving process is tuned once start-up is done (lobby_site/asgi.py calls it last).

Settings of the interpreter, all about the process's pauses rather than its work:

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
* **Young collections on a clock** (`GC_YOUNG_INTERVAL`). The interpreter collects its
  youngest generation when the tracked objects made since the last collection outnumber those
  freed by `GC_THRESHOLDS[0]` — and every object freed counts, however old. A busy server
  frees about as many old objects (a move's frames, a socket's last wait, a game that ended)
  as it makes young ones that live on (a new game's sockets), so the count crept and each
  collection walked everything made over seconds: at 5,000 players ~70,000–130,000 objects,
  60–170 ms of a daphne's CPU and a pause of its whole process every few seconds, most of
  the slowest moves (bench/README.md, twenty-first session). Collected every
  `GC_YOUNG_INTERVAL` seconds as well, the young generation holds a quarter of a second's
  survivors: 5–7 ms of CPU a collection instead of 55–80. An older generation is collected
  when its own count passes its threshold, by the interpreter's rule: generation 1 about
  every 5 s (50–60 ms), a full collection about every eight minutes.
"""

from __future__ import annotations

import gc
import sys

from django.conf import settings


def tune_serving_process() -> None:
    """Set the interpreter's thread switching and garbage collector for serving (docs/operations.md)."""
    sys.setswitchinterval(settings.GIL_SWITCH_INTERVAL)
    gc.set_threshold(*settings.GC_THRESHOLDS)
    collect_young_on_a_clock(settings.GC_YOUNG_INTERVAL)
    gc.collect()
    gc.freeze()  # last: everything start-up made is kept out of later collections


def collect_young_generation() -> int:
    """Collect the youngest generation, or the oldest one whose count has passed its threshold
    (the interpreter's own rule for which generation is due); return the generation collected."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    generation = next((older for older in (2, 1) if counts[older] > thresholds[older]), 0)
    gc.collect(generation)
    return generation


def collect_young_on_a_clock(interval: float) -> bool:
    """Under daphne, run `collect_young_generation` every `interval` seconds on the event loop;
    return whether the clock was started (not with `interval` 0, nor outside daphne)."""
    if interval <= 0 or "twisted.internet.reactor" not in sys.modules:
        return False  # not serving under daphne, whose reactor is installed before the app is imported
    from twisted.internet import reactor

    def tick():
        collect_young_generation()
        reactor.callLater(interval, tick)

    reactor.callLater(interval, tick)
    return True
