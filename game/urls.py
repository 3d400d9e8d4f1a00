"""Pages of spectators and replays: the watch page, the finished games, a game's replay and events."""
from django.urls import path

from game import views

urlpatterns = [
    path("rooms/<int:room_id>/watch/", views.room_watch, name="room_watch"),
    path("games/", views.games, name="games"),
    path("games/<int:game_id>/replay/", views.game_replay_page, name="game_replay"),
    path("games/<int:game_id>/events.json", views.game_events, name="game_events"),
]
