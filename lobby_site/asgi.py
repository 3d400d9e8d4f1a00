"""ASGI entry point: HTTP goes to Django, WebSockets to the Channels consumers.

Serving needs a real SECRET_KEY (docs/operations.md): importing this module without one
raises ImproperlyConfigured, so daphne refuses to start and says why.
"""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lobby_site.settings")

# Build the Django app first: it sets up the app registry that consumer modules need.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from lobby_site.handshakes import (  # noqa: E402
    check_timeouts_in_slices, format_autobahn_settings_lazily, release_finished_websockets, spread_keepalive_pings,
    write_without_waiting)
from lobby_site.routing import websocket_urlpatterns  # noqa: E402
from lobby_site.security import (OriginValidator, close_oversized_messages_with_1009,  # noqa: E402
                                 close_sockets_with_1012_on_shutdown, require_secret_key)
from lobby_site.tuning import tune_serving_process  # noqa: E402

require_secret_key()
close_oversized_messages_with_1009()
close_sockets_with_1012_on_shutdown()
format_autobahn_settings_lazily()
release_finished_websockets()
spread_keepalive_pings()
check_timeouts_in_slices()
write_without_waiting()

# Sockets authenticate with the HELLO token, never with cookies; the Origin check still keeps
# other sites' pages off them (docs/protocol.md "Origin"), while clients that send no Origin
# (bots, the terminal client) pass.
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginValidator(URLRouter(websocket_urlpatterns)),
    }
)

tune_serving_process()  # last: everything start-up made is frozen out of garbage collections
