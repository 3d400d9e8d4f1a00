"""WebSocket URL patterns; the lobby and game consumers are added here."""
from django.urls import path

from game.consumers import GameConsumer, WatchConsumer
from rooms.consumers import LobbyConsumer

websocket_urlpatterns = [
    path("ws/lobby/", LobbyConsumer.as_asgi()),
    path("ws/rooms/<int:room_id>/", GameConsumer.as_asgi()),
    path("ws/rooms/<int:room_id>/watch/", WatchConsumer.as_asgi()),
]
