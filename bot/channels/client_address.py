"""The address a customer's request really came from, behind HAProxy or not.

Behind a proxy every request reaches Rasa from the proxy's address, so the
per-address rate limit would count all customers as one and the logs would
name nobody. HAProxy says who its client was in `X-Forwarded-For`
(config/haproxy.cfg.j2). Anyone can send that header, though, so it is
believed only when the peer, the host the connection really comes from, is
one of `HELPLINE_TRUSTED_PROXIES`. Then the client is the rightmost entry
that is not itself a trusted proxy (a chain of trusted hops, e.g. a cloud
load balancer in front of HAProxy, is walked back; anything left of the
first untrusted entry was written by the client and is ignored). From any
other peer the header is ignored and the peer is the client.

`bind(request)` works this out for a Sanic request and records it for the
log lines written while the request is handled (bot/logs.py).
"""
from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Iterable, Optional, Sequence, Union

from sanic.request import Request

from bot.logs import client_address as logged_client
from bot.settings import IPNetwork, settings

FORWARDED_FOR = "X-Forwarded-For"
IPAddress = Union[IPv4Address, IPv6Address]


def _parsed(text: str) -> Optional[IPAddress]:
    try:
        return ip_address(text)
    except ValueError:
        return None


def _is_trusted(address: str, trusted: Sequence[IPNetwork]) -> bool:
    parsed = _parsed(address)
    return parsed is not None and any(parsed in network for network in trusted)


def client_address(peer: str, forwarded_for: Iterable[str], trusted: Sequence[IPNetwork]) -> str:
    """The client's address given the peer's, the `X-Forwarded-For` values and the trusted proxies."""
    if not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop if _parsed(hop) is not None else peer
    return hops[0] if hops else peer


def of_request(request: Request) -> str:
    """The client's address of a Sanic request."""
    return client_address(request.ip or "", request.headers.getall(FORWARDED_FOR, []), settings().trusted_proxies)


def bind(request: Request) -> str:
    """The client's address of `request`, also recorded for this request's log lines."""
    address = of_request(request)
    logged_client.set(address)
    return address
