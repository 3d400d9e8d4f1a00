"""ASGI entry point: HTTP goes to Django, WebSockets to the Channels consumers."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lobby_site.settings")

# Build the Django app first: it sets up the app registry that consumer modules need.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from lobby_site.routing import websocket_urlpatterns  # noqa: E402

# No Origin check on WebSockets: sockets authenticate with the token sent in HELLO, never
# with cookies, so a foreign page gains nothing, and bot clients send no Origin header.
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
