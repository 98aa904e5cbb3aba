"""`TrustedProxies`: whose `X-Forwarded-For` is believed, and which entry is the client."""

from __future__ import annotations

import pytest

from momentum.config import ConfigError, load_settings
from momentum.wire import TrustedProxies

PROXIES = TrustedProxies.parse("10.0.0.0/8, ::1")


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("203.0.113.9", None, "203.0.113.9"),  # no header: the peer
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),  # an untrusted peer cannot pick its address
        ("10.1.1.1", None, "10.1.1.1"),  # a proxy's own request
        ("10.1.1.1", "1.2.3.4", "1.2.3.4"),
        ("10.1.1.1", "6.6.6.6, 1.2.3.4, 10.2.2.2", "1.2.3.4"),  # right-most untrusted hop
        ("::1", "2001:db8::7", "2001:db8::7"),
        ("10.1.1.1", "10.2.2.2, 10.3.3.3", "10.1.1.1"),  # only proxies: the peer
        ("10.1.1.1", "not-an-address", "10.1.1.1"),  # garbled: count the proxy
        ("10.1.1.1", "1.2.3.4, bogus", "10.1.1.1"),
    ],
)
def test_client_address(peer: str, header: str | None, client: str) -> None:
    assert PROXIES.client_address(peer, header) == client


def test_no_proxies_trusts_nobody() -> None:
    nobody = TrustedProxies()
    assert not nobody
    assert nobody.client_address("127.0.0.1", "1.2.3.4") == "127.0.0.1"


def test_setting_parsed_and_validated() -> None:
    settings = load_settings({"TRUSTED_PROXIES": "10.0.0.0/8, ::1"}, hypercorn_toml=None)
    assert settings.trusted_proxies == PROXIES
    assert not load_settings({}, hypercorn_toml=None).trusted_proxies
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_settings({"TRUSTED_PROXIES": "10.0.0.0/33"}, hypercorn_toml=None)
