"""The room page: the waiting room and the game table (the browser client in static/js/)."""
from django.shortcuts import get_object_or_404, render

from rooms.models import Room


def room(request, room_id: int):
    """Render the room page; the seat comes from the token the lobby left in sessionStorage."""
    room = get_object_or_404(Room, pk=room_id)
    return render(request, "game/room.html", {"room": room})
