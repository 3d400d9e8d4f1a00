"""The room page: the waiting room and the game table (the browser client in static/js/)."""
from django.shortcuts import get_object_or_404, render

from rooms.models import Room


def room(request, room_id: int):
    """Render the room page; the seat comes from the token the lobby left in sessionStorage."""
    room = get_object_or_404(Room, pk=room_id)
    return render(request, "game/room.html", {"room": room})


def rules(request):
    """Render the rules for players: docs/rules.md, and a picture of each special card."""
    from game.rulesdoc import rules_html

    return render(request, "game/rules.html", {"rules": rules_html()})
