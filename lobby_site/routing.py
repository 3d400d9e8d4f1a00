"""WebSocket URL patterns; the lobby and game consumers are added here."""

websocket_urlpatterns = []
