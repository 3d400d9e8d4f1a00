"""Group sends that happen only after the transaction commits (Zulip's send_event_on_commit),
so no client ever hears of a change that rolled back."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

LOBBY_GROUP = "lobby"


def room_group(room_id: int) -> str:
    return f"room.{room_id}"


def seat_group(room_id: int, seat: int) -> str:
    return f"seat.{room_id}.{seat}"


def send_on_commit(group: str, message: dict) -> None:
    """Send `message` (a Channels event: {"type": …}) to `group` once the current transaction commits."""

    def send():
        async_to_sync(get_channel_layer().group_send)(group, message)

    transaction.on_commit(send, robust=True)
