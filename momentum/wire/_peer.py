"""Who a client is: its IP address, seen through the proxies the operator trusts.

A connection's peer address is the client's, unless the peer is one of `TRUSTED_PROXIES`
(docs/operations.md): then the client is the right-most `X-Forwarded-For` entry that is not
itself a trusted proxy. A header from any other peer is ignored, so a client cannot choose
the address its limits are counted against.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The networks whose `X-Forwarded-For` header is believed."""

    __slots__ = ("_networks",)

    def __init__(self, networks: Iterable[str | Network] = ()) -> None:
        self._networks = tuple(ipaddress.ip_network(n, strict=False) for n in networks)

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        """From a comma-separated list of addresses or CIDR networks; ValueError if malformed."""
        return cls(part.strip() for part in text.split(",") if part.strip())

    def __bool__(self) -> bool:
        return bool(self._networks)

    def __repr__(self) -> str:
        return f"TrustedProxies({', '.join(map(str, self._networks))})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TrustedProxies) and self._networks == other._networks

    def __hash__(self) -> int:
        return hash(self._networks)

    def trusts(self, address: str) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self._networks)

    def client_address(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address for a connection from `peer` carrying `forwarded_for`."""
        if forwarded_for is None or not self.trusts(peer):
            return peer
        for hop in reversed(forwarded_for.split(",")):
            hop = hop.strip()
            if _ip(hop) is None:
                return peer  # a garbled header: count the proxy, not a made-up client
            if not self.trusts(hop):
                return hop
        return peer


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None
