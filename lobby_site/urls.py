"""Root URL configuration."""
from django.contrib import admin
from django.urls import include, path

from game import views as game_views
from lobby_site.metrics import metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", metrics, name="metrics"),
    path("", include("rooms.urls")),
    path("rooms/<int:room_id>/", game_views.room, name="room"),
    path("rules/", game_views.rules, name="rules"),
    path("", include("game.urls")),
]
