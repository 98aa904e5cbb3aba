"""Settings: environment variables, `hypercorn.toml`, command-line flags (docs/operations.md).

Every setting has a default that works on a laptop. A bad value stops the server at start
with a one-line `ConfigError`, never a traceback.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._hypercorn_toml import TomlError, read_hypercorn_toml
from .wire import TrustedProxies

SECONDS = 1.0
KIB = 1024
MIB = 1024 * KIB
DAYS = 24 * 3600 * SECONDS

#: How long anyone waits for an actor's answer (the hub, the user lookup, the janitor) before
#: giving up: a handshake is refused 503, an HTTP request answers 503, a sweep is skipped.
CALL_TIMEOUT = 5 * SECONDS

DEFAULT_DATABASE_URL = "sqlite:///momentum.db"
DEFAULT_BIND = "0.0.0.0:8000"


ONLINE_VISIBILITIES = frozenset({"all", "admin", "api_key"})
PRESENCE_CHOICES = frozenset({"on", "off"})


class ConfigError(Exception):
    """A setting that cannot be used; the message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    bind: str = DEFAULT_BIND
    jwt_secret: str = ""
    jwt_secret_generated: bool = False
    jwt_ttl: float = 3600 * SECONDS
    refresh_ttl: float = 30 * DAYS
    jwt_leeway: float = 30 * SECONDS
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    api_key: str | None = None
    cleanup_interval: float = 300 * SECONDS
    max_connections: int = 10_000
    max_connections_per_user: int = 10
    max_message_size: int = 64 * KIB
    room_max_per_connection: int = 128
    #: messages per second one connection may publish to one room, and at once; 0: no limit
    room_publish_rate: float = 0.0
    room_publish_burst: int = 10
    rate_limit: float = 20.0
    rate_burst: int = 40
    #: what one user may publish, all its connections and HTTP requests together (per node);
    #: None: what one connection may (`rate_limit`, `rate_burst`)
    user_rate_limit: float | None = None
    user_rate_burst: int | None = None
    ping_interval: float = 25 * SECONDS
    pong_timeout: float = 10 * SECONDS
    outbox_size: int = 256
    send_timeout: float = 10 * SECONDS
    head_limit: int = 16 * KIB
    max_pending_handshakes: int = 1024
    max_pending_heads_per_ip: int = 16
    max_connections_per_ip: int = 256  # WebSocket
    http_max_connections: int = 1024
    http_max_connections_per_ip: int = 64
    handshake_timeout: float = 10 * SECONDS
    close_timeout: float = 3 * SECONDS
    drain_timeout: float = 10 * SECONDS
    message_ttl: float = 7 * DAYS
    history_retention: float = 30 * DAYS
    #: what the store keeps undelivered for one recipient: messages, and their bytes
    pending_max_count: int = 10_000
    pending_max_bytes: int = 32 * MIB
    presence_interval: float = 0.5 * SECONDS
    #: presence frames for a connection that does not say (`?presence=on|off` at connect)
    presence: str = "on"
    node_ttl: float = 15 * SECONDS  # a node silent this long is gone (REDIS_URL only)
    hub_mailbox: int = 4096
    allowed_origins: frozenset[str] | None = None
    #: origins whose browser pages may call the HTTP API (CORS); empty: same origin only
    http_allowed_origins: frozenset[str] = frozenset()
    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies)
    metrics_require_key: bool = False
    #: a bearer token that opens `/metrics` (for a scraper); set, `/metrics` is closed to others
    metrics_token: str | None = None
    #: who may list the online users: "all" (any user), "admin" (admins), "api_key" (backend)
    online_visibility: str = "all"
    max_request_body: int = 1024 * KIB
    log_level: str = "INFO"
    log_format: str = "text"
    log_summary_interval: float = 60 * SECONDS
    workers: int = 1
    # password attempts and sign-ups (docs/security.md): a burst, then one per refill seconds
    login_account_burst: int = 10
    login_account_refill: float = 30 * SECONDS
    login_ip_burst: int = 30
    login_ip_refill: float = 5 * SECONDS
    register_ip_burst: int = 5
    register_ip_refill: float = 60 * SECONDS
    auth_throttle_max_keys: int = 100_000
    hash_concurrency: int = 2
    hash_max_waiting_logins: int = 64
    hash_max_waiting_signups: int = 8
    hypercorn: Mapping[str, Any] = field(default_factory=dict)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def user_rate(self) -> tuple[float, int]:
        """Messages per second and at once one user may publish."""
        rate = self.rate_limit if self.user_rate_limit is None else self.user_rate_limit
        return rate, self.rate_burst if self.user_rate_burst is None else self.user_rate_burst

    @property
    def host_port(self) -> tuple[str, int]:
        return parse_bind(self.bind)


def parse_bind(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"bind must be HOST:PORT, got {bind!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


_ENV: dict[str, tuple[str, type]] = {
    "JWT_SECRET": ("jwt_secret", str),
    "JWT_TTL": ("jwt_ttl", float),
    "JWT_LEEWAY": ("jwt_leeway", float),
    "REFRESH_TTL": ("refresh_ttl", float),
    "LOGIN_ACCOUNT_BURST": ("login_account_burst", int),
    "LOGIN_ACCOUNT_REFILL": ("login_account_refill", float),
    "LOGIN_IP_BURST": ("login_ip_burst", int),
    "LOGIN_IP_REFILL": ("login_ip_refill", float),
    "REGISTER_IP_BURST": ("register_ip_burst", int),
    "REGISTER_IP_REFILL": ("register_ip_refill", float),
    "AUTH_THROTTLE_MAX_KEYS": ("auth_throttle_max_keys", int),
    "HASH_CONCURRENCY": ("hash_concurrency", int),
    "HASH_MAX_WAITING_LOGINS": ("hash_max_waiting_logins", int),
    "HASH_MAX_WAITING_SIGNUPS": ("hash_max_waiting_signups", int),
    "DATABASE_URL": ("database_url", str),
    "REDIS_URL": ("redis_url", str),
    "MOMENTUM_API_KEY": ("api_key", str),
    "WS_CLEANUP_INTERVAL": ("cleanup_interval", float),
    "WS_MAX_CONNECTIONS": ("max_connections", int),
    "WS_MAX_CONNECTIONS_PER_USER": ("max_connections_per_user", int),
    "WS_MAX_MESSAGE_SIZE": ("max_message_size", int),
    "ROOM_MAX_PER_CONNECTION": ("room_max_per_connection", int),
    "ROOM_PUBLISH_RATE": ("room_publish_rate", float),
    "ROOM_PUBLISH_BURST": ("room_publish_burst", int),
    "WS_RATE_LIMIT": ("rate_limit", float),
    "WS_RATE_BURST": ("rate_burst", int),
    "USER_RATE_LIMIT": ("user_rate_limit", float),
    "USER_RATE_BURST": ("user_rate_burst", int),
    "WS_PING_INTERVAL": ("ping_interval", float),
    "WS_PONG_TIMEOUT": ("pong_timeout", float),
    "WS_OUTBOX_SIZE": ("outbox_size", int),
    "WS_SEND_TIMEOUT": ("send_timeout", float),
    "WS_HANDSHAKE_TIMEOUT": ("handshake_timeout", float),
    "WS_MAX_PENDING_HANDSHAKES": ("max_pending_handshakes", int),
    "HTTP_MAX_PENDING_HEADS_PER_IP": ("max_pending_heads_per_ip", int),
    "WS_MAX_CONNECTIONS_PER_IP": ("max_connections_per_ip", int),
    "HTTP_MAX_CONNECTIONS": ("http_max_connections", int),
    "HTTP_MAX_CONNECTIONS_PER_IP": ("http_max_connections_per_ip", int),
    "WS_PRESENCE_INTERVAL": ("presence_interval", float),
    "WS_PRESENCE": ("presence", str),
    "CLUSTER_NODE_TTL": ("node_ttl", float),
    "SHUTDOWN_TIMEOUT": ("drain_timeout", float),
    "MESSAGE_TTL": ("message_ttl", float),
    "HISTORY_RETENTION": ("history_retention", float),
    "MESSAGE_PENDING_MAX_COUNT": ("pending_max_count", int),
    "MESSAGE_PENDING_MAX_BYTES": ("pending_max_bytes", int),
    "METRICS_REQUIRE_KEY": ("metrics_require_key", bool),
    "METRICS_TOKEN": ("metrics_token", str),
    "ONLINE_VISIBILITY": ("online_visibility", str),
    "LOG_LEVEL": ("log_level", str),
    "LOG_FORMAT": ("log_format", str),
    "LOG_SUMMARY_INTERVAL": ("log_summary_interval", float),
}


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    hypercorn_toml: Path | None = Path("hypercorn.toml"),
    hypercorn_toml_required: bool = False,
    **overrides: Any,
) -> Settings:
    """Defaults ← hypercorn.toml ← environment ← flags; validated.

    The TOML file may be missing unless `hypercorn_toml_required` (it was named on the
    command line); present, it is checked (`read_hypercorn_toml`)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    if hypercorn_toml is not None and (hypercorn_toml_required or hypercorn_toml.exists()):
        values.update(_from_toml(hypercorn_toml))
    for name, (attr, kind) in _ENV.items():
        raw = env.get(name)
        if raw is not None and raw != "":
            values[attr] = _convert(name, raw, kind)
    for name, attr in (
        ("WS_ALLOWED_ORIGINS", "allowed_origins"),
        ("HTTP_ALLOWED_ORIGINS", "http_allowed_origins"),
    ):
        if origins := env.get(name):
            values[attr] = _origins(name, origins)
    proxies = env.get("TRUSTED_PROXIES")
    if proxies:
        try:
            values["trusted_proxies"] = TrustedProxies.parse(proxies)
        except ValueError as exc:
            raise ConfigError(f"TRUSTED_PROXIES must list addresses or networks: {exc}") from None
    settings = Settings(**values).with_overrides(**overrides)
    if not settings.jwt_secret:
        settings = replace(
            settings, jwt_secret=secrets.token_urlsafe(48), jwt_secret_generated=True
        )
    validate(settings)
    return settings


def _from_toml(path: Path) -> dict[str, Any]:
    try:
        data = read_hypercorn_toml(path)
    except TomlError as exc:
        raise ConfigError(str(exc)) from None
    values: dict[str, Any] = {"hypercorn": data}
    bind = data.get("bind")
    if bind is not None:
        values["bind"] = bind[0] if isinstance(bind, list) else bind
    return values


def _origins(name: str, raw: str) -> frozenset[str]:
    """A comma-separated list of origins (`scheme://host[:port]`), or `*`."""
    origins = frozenset(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin != "*" and "://" not in origin:
            raise ConfigError(
                f"{name} must list origins like https://app.example.com, got {origin!r}"
            )
    return origins


def _convert(name: str, raw: str, kind: type) -> Any:
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise ConfigError(f"{name} must be true or false, got {raw!r}")
        return lowered in {"1", "true", "yes", "on"}
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
    # float() takes "nan" and "inf": NaN slips past every range check below (all comparisons
    # are false) and Trio refuses it as a timeout later, at run time.
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    return value


def validate(s: Settings) -> None:
    parse_bind(s.bind)
    if len(s.jwt_secret.encode()) < 32:
        raise ConfigError("JWT_SECRET must be at least 32 bytes long")
    positive = {
        "WS_MAX_CONNECTIONS": s.max_connections,
        "WS_MAX_CONNECTIONS_PER_USER": s.max_connections_per_user,
        "WS_MAX_PENDING_HANDSHAKES": s.max_pending_handshakes,
        "HTTP_MAX_PENDING_HEADS_PER_IP": s.max_pending_heads_per_ip,
        "WS_MAX_CONNECTIONS_PER_IP": s.max_connections_per_ip,
        "HTTP_MAX_CONNECTIONS": s.http_max_connections,
        "HTTP_MAX_CONNECTIONS_PER_IP": s.http_max_connections_per_ip,
        "ROOM_MAX_PER_CONNECTION": s.room_max_per_connection,
        "WS_OUTBOX_SIZE": s.outbox_size,
        "WS_CLEANUP_INTERVAL": s.cleanup_interval,
        "WS_PONG_TIMEOUT": s.pong_timeout,
        "WS_SEND_TIMEOUT": s.send_timeout,
        "WS_HANDSHAKE_TIMEOUT": s.handshake_timeout,
        "JWT_TTL": s.jwt_ttl,
        "REFRESH_TTL": s.refresh_ttl,
        "LOGIN_ACCOUNT_BURST": s.login_account_burst,
        "LOGIN_ACCOUNT_REFILL": s.login_account_refill,
        "LOGIN_IP_BURST": s.login_ip_burst,
        "LOGIN_IP_REFILL": s.login_ip_refill,
        "REGISTER_IP_BURST": s.register_ip_burst,
        "REGISTER_IP_REFILL": s.register_ip_refill,
        "AUTH_THROTTLE_MAX_KEYS": s.auth_throttle_max_keys,
        "HASH_CONCURRENCY": s.hash_concurrency,
        "WS_PRESENCE_INTERVAL": s.presence_interval,
        "CLUSTER_NODE_TTL": s.node_ttl,
        "SHUTDOWN_TIMEOUT": s.drain_timeout,
        "MESSAGE_TTL": s.message_ttl,
        "HISTORY_RETENTION": s.history_retention,
        "MESSAGE_PENDING_MAX_COUNT": s.pending_max_count,
        "MESSAGE_PENDING_MAX_BYTES": s.pending_max_bytes,
    }
    for name, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{name} must be greater than 0, got {value}")
    if s.hash_max_waiting_logins < 0 or s.hash_max_waiting_signups < 0:
        raise ConfigError("HASH_MAX_WAITING_LOGINS and HASH_MAX_WAITING_SIGNUPS must be >= 0")
    if s.max_message_size < 1024:
        raise ConfigError("WS_MAX_MESSAGE_SIZE must be at least 1024 bytes")
    if s.rate_limit < 0 or s.rate_burst < 1:
        raise ConfigError("WS_RATE_LIMIT must be >= 0 and WS_RATE_BURST >= 1")
    if s.user_rate[0] < 0 or s.user_rate[1] < 1:
        raise ConfigError("USER_RATE_LIMIT must be >= 0 and USER_RATE_BURST >= 1")
    if s.room_publish_rate < 0 or s.room_publish_burst < 1:
        raise ConfigError("ROOM_PUBLISH_RATE must be >= 0 and ROOM_PUBLISH_BURST >= 1")
    if s.pending_max_bytes < s.max_message_size:
        raise ConfigError("MESSAGE_PENDING_MAX_BYTES must be at least WS_MAX_MESSAGE_SIZE")
    if s.ping_interval < 0 or s.jwt_leeway < 0 or s.log_summary_interval < 0:
        raise ConfigError("WS_PING_INTERVAL, JWT_LEEWAY and LOG_SUMMARY_INTERVAL must be >= 0")
    if s.log_level.upper() not in {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}:
        raise ConfigError(
            f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {s.log_level!r}"
        )
    if s.presence not in PRESENCE_CHOICES:
        raise ConfigError(f"WS_PRESENCE must be on or off, got {s.presence!r}")
    if s.online_visibility not in ONLINE_VISIBILITIES:
        raise ConfigError(
            f"ONLINE_VISIBILITY must be all, admin or api_key, got {s.online_visibility!r}"
        )
    if s.metrics_token is not None and len(s.metrics_token.encode()) < 16:
        raise ConfigError("METRICS_TOKEN must be at least 16 bytes long")
    if s.log_format not in {"text", "json"}:
        raise ConfigError(f"log format must be text or json, got {s.log_format!r}")
    if s.database_url.split(":", 1)[0] not in {"sqlite", "postgresql", "postgres"}:
        raise ConfigError(
            f"DATABASE_URL must start with sqlite:// or postgresql://, got {s.database_url!r}"
        )
    if s.workers < 1:
        raise ConfigError("--workers must be at least 1")
    if s.workers > 1 and not s.redis_url:
        raise ConfigError(
            "--workers above 1 needs REDIS_URL: processes share state only through Redis"
        )
    if s.redis_url and s.database_url.startswith("sqlite"):
        raise ConfigError(
            "REDIS_URL makes a cluster, and a cluster needs a shared store: set DATABASE_URL to"
            " postgresql://… (SQLite is one process's file)"
        )
    if s.redis_url and not s.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_URL must start with redis://, rediss:// or unix://")
    if s.node_ttl < 3:
        raise ConfigError(f"CLUSTER_NODE_TTL must be at least 3 (seconds), got {s.node_ttl}")
