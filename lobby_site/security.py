"""What the site checks before any app code runs (docs/protocol.md "Origin", docs/operations.md).

* `require_secret_key` — serving refuses to start without a real `SECRET_KEY`.
* `client_address` — the address of whoever is on the other end, for a WebSocket scope
  or an HTTP request, honouring `X-Forwarded-For` only from `TRUSTED_PROXIES`.
* `OriginValidator` — a WebSocket handshake from a browser page of another site is
  refused (403); one without `Origin` (a bot, the terminal client) is let through.
* `close_oversized_messages_with_1009` — daphne answers a message over its 1 MiB limit with
  a close frame 1009 instead of dropping the TCP connection (which clients see as 1006).
* `close_sockets_with_1012_on_shutdown` — daphne stopping (SIGTERM, SIGINT) closes every
  WebSocket with 1012 (service restart) instead of dropping it.
"""

from __future__ import annotations

import ipaddress

from channels.security.websocket import OriginValidator as ChannelsOriginValidator
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http.request import split_domain_port, validate_host

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


# --- Secret key ----------------------------------------------------------------------------


def require_secret_key() -> None:
    """Refuse to serve with the per-process throwaway key settings.py makes when SECRET_KEY is unset.

    Management commands that serve nothing (migrate, simulate, …) run fine on that key;
    a server would sign sessions and CSRF tokens with a key that changes on every restart
    and differs between processes, so it must not start.
    """
    if not getattr(settings, "SECRET_KEY_FROM_ENV", False):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: the server refuses to start without it. Set the SECRET_KEY "
            "environment variable to a long random string (docs/operations.md), or run "
            "`bash .ci/serve` for local development.")


# --- Client address ------------------------------------------------------------------------


def parse_networks(items: list[str]) -> list[Network]:
    """Parse TRUSTED_PROXIES entries (IPs or CIDRs); raise ImproperlyConfigured naming a bad one."""
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"TRUSTED_PROXIES: {item!r} is not an IP address or network") from None
    return networks


def _ip(text: str | None):
    if not text:
        return None
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[::1]:port" as some proxies write it
        text = text[1:text.index("]")]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address, networks: list[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


def _peer_and_forwarded(source) -> tuple[str | None, str]:
    """Return (peer address, X-Forwarded-For value) of an ASGI scope or an HttpRequest."""
    if isinstance(source, dict):  # an ASGI scope
        client = source.get("client")
        peer = client[0] if client else None
        forwarded = b",".join(value for name, value in source.get("headers", [])
                              if name.lower() == b"x-forwarded-for")
        return peer, forwarded.decode("latin-1")
    return source.META.get("REMOTE_ADDR"), source.META.get("HTTP_X_FORWARDED_FOR", "")


def client_address(source, trusted_proxies: list[Network] | None = None) -> str | None:
    """Return the client's address for an ASGI scope (`scope["client"]`) or an HttpRequest.

    It is the peer's address, unless the peer is one of TRUSTED_PROXIES: then it is the
    last address of X-Forwarded-For that is not a trusted proxy, read from the right,
    since only the entries our own proxies appended can be believed (a client writes
    whatever it likes to the left). Without a usable header the peer's address stands.
    """
    networks = settings.TRUSTED_PROXY_NETWORKS if trusted_proxies is None else trusted_proxies
    peer, forwarded = _peer_and_forwarded(source)
    peer_ip = _ip(peer)
    if not _trusted(peer_ip, networks) or not forwarded.strip():
        return str(peer_ip) if peer_ip is not None else peer
    chain = [entry for entry in (part.strip() for part in forwarded.split(",")) if entry]
    for entry in reversed(chain):
        address = _ip(entry)
        if address is None:
            # Garbage appended by a proxy we trust: believe nothing further left.
            return str(peer_ip)
        if not _trusted(address, networks):
            return str(address)
    # Every hop is one of ours: the leftmost is the furthest we know of.
    return str(_ip(chain[0])) if chain else str(peer_ip)


# --- WebSocket Origin and Host -------------------------------------------------------------


def allowed_origins() -> list[str]:
    """Return the patterns an Origin may match: ALLOWED_HOSTS plus EXTRA_ORIGINS."""
    return [*settings.ALLOWED_HOSTS, *settings.EXTRA_ORIGINS]


class OriginValidator(ChannelsOriginValidator):
    """Channels' OriginValidator, except that a handshake without Origin is accepted.

    Browsers always send Origin on a WebSocket handshake, so refusing foreign origins
    stops other sites' pages from using a visitor's browser; a client with no Origin is
    not a browser and could forge any header anyway — for it the HELLO token, not the
    origin, is the credential (docs/protocol.md "Origin"). Channels' validator refuses
    a missing Origin, which would lock out the terminal client and the bots.

    The Host header is held to ALLOWED_HOSTS as Django holds HTTP requests to it, so a
    DNS-rebound name cannot reach the sockets either.
    """

    def __init__(self, application, origins: list[str] | None = None):
        super().__init__(application, origins if origins is not None else allowed_origins())

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not self.valid_host(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await super().__call__(scope, receive, send)

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)

    def valid_host(self, scope) -> bool:
        hosts = [value for name, value in scope.get("headers", []) if name == b"host"]
        if not hosts:
            return True  # HTTP/1.0-style clients and in-process test communicators
        domain, _port = split_domain_port(hosts[0].decode("latin-1"))
        return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


# --- daphne: oversized messages -------------------------------------------------------------


def close_oversized_messages_with_1009() -> None:
    """Make daphne close a connection whose message is over its limit with 1009, not a drop.

    Autobahn (under daphne) enforces daphne's `websocket_max_message_size` (1 MiB) with
    close code 1009, but its servers default to `failByDrop`: they cut the TCP connection
    without a closing handshake, so the client sees 1006 and cannot tell why. With
    failByDrop off, every failed connection gets its close frame (1009 here; 1002 and 1007
    for protocol and UTF-8 errors). daphne has no option for it, so its factory is
    replaced, once per process, by one that turns it off; this runs when daphne imports
    the ASGI application, before it builds the factory.
    """
    try:
        from daphne import server as daphne_server
        from daphne.ws_protocol import WebSocketFactory
    except ImportError:  # not under daphne
        return
    if getattr(daphne_server.WebSocketFactory, "closes_cleanly", False):
        return

    class CleanClosingWebSocketFactory(WebSocketFactory):
        closes_cleanly = True

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.setProtocolOptions(failByDrop=False)

    daphne_server.WebSocketFactory = CleanClosingWebSocketFactory


# --- Shutdown ----------------------------------------------------------------------------------

SERVICE_RESTART = 1012  # RFC 6455 close code: the server is restarting, come back
SHUTDOWN_CLOSE_WAIT = 2.0  # seconds the closing handshakes get before daphne stops the apps


def close_sockets_with_1012_on_shutdown() -> None:
    """Make daphne close every WebSocket with 1012 when it stops, instead of dropping them.

    On SIGTERM or SIGINT daphne cancels every application instance and stops the reactor,
    which cuts the TCP connections: clients see 1006 and cannot tell a deploy from a crash.
    Its shutdown step (`Server.kill_all_applications`) is wrapped, once per process, so that
    it first sends every open WebSocket a close frame 1012 and waits up to
    SHUTDOWN_CLOSE_WAIT seconds for the closing handshakes (the consumers' `disconnect`
    runs meanwhile, as for any close). Runs when daphne imports the ASGI application,
    before it starts the server.
    """
    try:
        from daphne import server as daphne_server
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # not under daphne
        return
    server_class = daphne_server.Server
    if getattr(server_class, "closes_sockets_on_shutdown", False):
        return
    kill_all_applications = server_class.kill_all_applications

    def close_then_kill(self):
        import asyncio

        from twisted.internet import defer

        sockets = [protocol for protocol in self.connections
                   if isinstance(protocol, WebSocketProtocol) and protocol.state == protocol.STATE_OPEN]
        for protocol in sockets:
            # Autobahn's sendClose only takes 1000 and 3000-4999; this is what daphne itself
            # uses for its 1011.
            protocol.sendCloseFrame(code=SERVICE_RESTART)

        async def closed() -> None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + SHUTDOWN_CLOSE_WAIT
            while any(p.state != p.STATE_CLOSED for p in sockets) and loop.time() < deadline:
                await asyncio.sleep(0.05)

        waited = defer.Deferred.fromFuture(asyncio.ensure_future(closed()))
        waited.addCallback(lambda _: kill_all_applications(self))
        return waited

    server_class.kill_all_applications = close_then_kill
    server_class.closes_sockets_on_shutdown = True
