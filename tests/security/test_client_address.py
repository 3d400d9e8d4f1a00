"""The client address: the peer's, or behind TRUSTED_PROXIES the last untrusted X-Forwarded-For hop."""

import ipaddress

import pytest
from django.test import RequestFactory

from lobby_site.security import client_address

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::1")]


def scope(peer, *forwarded: str) -> dict:
    headers = [(b"host", b"discard.example")] + [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return {"type": "websocket", "client": [peer, 50000] if peer else None, "headers": headers}


def request(peer, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize("make", [scope, request], ids=["asgi-scope", "http-request"])
@pytest.mark.parametrize("peer, forwarded, expected", [
    ("203.0.113.9", None, "203.0.113.9"),  # no proxy
    ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # an untrusted peer's header is ignored
    ("10.1.2.3", None, "10.1.2.3"),  # a trusted proxy without the header stands for itself
    ("10.1.2.3", "198.51.100.1", "198.51.100.1"),  # one proxy
    ("10.1.2.3", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # a client's forged hop on the left is skipped
    ("10.1.2.3", "198.51.100.1, 10.9.9.9", "198.51.100.1"),  # two proxies of ours
    ("10.1.2.3", "10.5.5.5, 10.9.9.9", "10.5.5.5"),  # only our hops: the furthest one
    ("10.1.2.3", "not-an-ip, 198.51.100.1", "198.51.100.1"),
    ("10.1.2.3", "198.51.100.1, garbage", "10.1.2.3"),  # our proxy wrote nonsense: believe nothing
    ("2001:db8::1", "2001:db8::77", "2001:db8::77"),  # IPv6
    ("10.1.2.3", "[2001:db8::77]:4711", "2001:db8::77"),
])
def test_client_address(make, peer, forwarded, expected):
    source = make(peer, *([forwarded] if forwarded is not None else []))
    assert client_address(source, PROXIES) == expected


def test_several_forwarded_headers_read_as_one_list():
    assert client_address(scope("10.1.2.3", "6.6.6.6", "198.51.100.1"), PROXIES) == "198.51.100.1"


def test_no_trusted_proxies_by_default(settings):
    assert settings.TRUSTED_PROXY_NETWORKS == []
    assert client_address(scope("10.1.2.3", "198.51.100.1")) == "10.1.2.3"


def test_a_scope_without_a_client_has_no_address():
    assert client_address(scope(None, "198.51.100.1"), PROXIES) is None
