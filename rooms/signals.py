"""Notices the rooms app gives the apps built on it, without importing them.

The game listens: a seat that loses its last live connection is away in its game; one that
gains a connection may complete a waiting room or be back in a running game.
Both are sent with `player_id`, `room_id` and `seat`, after the presence change committed.
`room_filled` (with `room_id`) says an operator seated computers in a waiting room's free
seats, after that committed: its game may begin now.
"""

from django.dispatch import Signal

seat_connected = Signal()
seat_disconnected = Signal()
room_filled = Signal()
