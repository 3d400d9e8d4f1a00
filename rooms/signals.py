"""Notices the rooms app gives the apps built on it, without importing them.

The game listens. Presence changes are sent after they committed, one signal per room and
direction with `room_id`, `room_status` (as it was) and `seats` (seat numbers): a seat that
lost its last live connection is away in its game; one that gained a connection may complete
a waiting room or be back in a running game. `seats_connected` also says `room_complete`:
whether the room, waiting, now has every seat taken and every person connected (counted with
the room's row locked, so the settle that connects the last person is the one that says so).
`room_filled` (`room_id`): an operator seated computers in a waiting room.
"""

from django.dispatch import Signal

seats_connected = Signal()
seats_disconnected = Signal()
room_filled = Signal()
