"""The bare Channels baseline for bench/moves.py: a consumer that relays each message to
its group, with the project's settings (same channel layer, same process tuning as
lobby_site/asgi.py — garbage collector, thread switching, and daphne's patches for finished
sockets, keepalive pings and timeout rounds: without them the baseline stalls on collections
and on daphne's once-a-round walks over every socket at a few thousand sockets, and flatters
the game server), and nothing else."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lobby_site.settings")
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from lobby_site.handshakes import (  # noqa: E402
    check_timeouts_in_slices, format_autobahn_settings_lazily, release_finished_websockets, spread_keepalive_pings,
    write_without_waiting)
from lobby_site.tuning import tune_serving_process  # noqa: E402


class RelayConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.group = f"relay.{self.scope['url_route']['kwargs']['group']}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        await self.channel_layer.group_send(self.group, {"type": "relay.message", "text": text_data})

    async def relay_message(self, event):
        await self.send(text_data=event["text"])


application = ProtocolTypeRouter({"websocket": URLRouter([path("ws/relay/<int:group>/", RelayConsumer.as_asgi())])})
format_autobahn_settings_lazily()
release_finished_websockets()
spread_keepalive_pings()
check_timeouts_in_slices()
write_without_waiting()
tune_serving_process()
