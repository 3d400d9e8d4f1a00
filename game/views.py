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


# --- Spectators and replays (docs/protocol.md "Spectators", "Replays") ------------------------

GAMES_PER_PAGE = 25


def room_watch(request, room_id: int):
    """Render the spectator's page of a room (static/js/watch.js opens the watch socket)."""
    room = get_object_or_404(Room, pk=room_id)
    return render(request, "game/watch.html", {"room": room})


def games(request):
    """List the finished games, newest first, paged; `?player=` keeps those with a seat of that name."""
    from django.core.paginator import Paginator

    from game.selectors import game_summary, games_finished

    player = request.GET.get("player", "").strip()[:24]
    page = Paginator(games_finished(player=player), GAMES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "game/games.html", {"page": page, "player": player,
                                               "games": [game_summary(game) for game in page.object_list]})


def _replayable(game_id: int):
    from game.selectors import games_replayable

    return get_object_or_404(games_replayable(), pk=game_id)


def game_replay_page(request, game_id: int):
    """Render a finished game's replay page (static/js/replay.js steps through events.json)."""
    game = _replayable(game_id)
    return render(request, "game/replay.html", {"game": game})


def game_events(request, game_id: int):
    """Return a finished watchable game's replay: {"game_id", "players", "start", "events", "outcome"}."""
    from django.http import JsonResponse

    from game.selectors import game_replay

    return JsonResponse(game_replay(_replayable(game_id)))
