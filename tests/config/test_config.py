"""load_settings: defaults ← hypercorn.toml ← environment ← flags, validated at start.

Rules of this module:
- The environment is always an explicit dict: ``os.environ`` is never read or changed.
- ``hypercorn.toml`` is either ``None`` or a file under ``tmp_path``; the repository's own
  ``hypercorn.toml`` is never read.
- Every refusal is a ``ConfigError`` whose message is one line naming the setting at fault.
- Sync tests: loading settings does no I/O beyond the toml file and touches no clock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from momentum.config import (
    DEFAULT_BIND,
    DEFAULT_DATABASE_URL,
    ConfigError,
    Settings,
    load_settings,
    parse_bind,
)

SECRET = "s" * 32


def load(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    return load_settings({"JWT_SECRET": SECRET, **(env or {})}, hypercorn_toml=None, **overrides)


def refusal(env: dict[str, str], **overrides: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load(env, **overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


# -- defaults and every variable -------------------------------------------------------------


def test_defaults() -> None:
    settings = load()
    assert settings == Settings(jwt_secret=SECRET)
    assert settings.bind == DEFAULT_BIND == "0.0.0.0:8000"
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.redis_url is None
    assert settings.api_key is None
    assert settings.allowed_origins is None
    assert settings.hypercorn == {}
    # the documented defaults (docs/operations.md)
    assert settings.max_message_size == 64 * 1024
    assert (settings.rate_limit, settings.rate_burst) == (20.0, 40)
    assert settings.max_connections_per_user == 10
    assert settings.max_connections == 10_000
    assert (settings.head_limit, settings.handshake_timeout) == (16 * 1024, 10.0)
    assert (settings.ping_interval, settings.pong_timeout) == (25.0, 10.0)
    assert settings.cleanup_interval == 300.0
    assert settings.outbox_size == 256
    assert settings.send_timeout == 10.0
    assert settings.drain_timeout == 10.0
    assert settings.workers == 1
    assert (settings.max_pending_handshakes, settings.max_pending_heads_per_ip) == (1024, 16)
    assert settings.max_connections_per_ip == 256
    assert (settings.http_max_connections, settings.http_max_connections_per_ip) == (1024, 64)
    assert settings.room_max_per_connection == 128


EVERY_VARIABLE: dict[str, tuple[str, str, object]] = {
    "JWT_SECRET": ("jwt_secret", "x" * 40, "x" * 40),
    "JWT_TTL": ("jwt_ttl", "3600", 3600.0),
    "JWT_LEEWAY": ("jwt_leeway", "0.5", 0.5),
    "DATABASE_URL": ("database_url", "postgresql://u@db/momentum", "postgresql://u@db/momentum"),
    "REDIS_URL": ("redis_url", "redis://cache:6379/0", "redis://cache:6379/0"),
    "MOMENTUM_API_KEY": ("api_key", "key-123", "key-123"),
    "WS_CLEANUP_INTERVAL": ("cleanup_interval", "60", 60.0),
    "WS_MAX_CONNECTIONS": ("max_connections", "500", 500),
    "WS_MAX_CONNECTIONS_PER_USER": ("max_connections_per_user", "3", 3),
    "WS_MAX_MESSAGE_SIZE": ("max_message_size", "2048", 2048),
    "ROOM_MAX_PER_CONNECTION": ("room_max_per_connection", "4", 4),
    "WS_RATE_LIMIT": ("rate_limit", "2.5", 2.5),
    "WS_RATE_BURST": ("rate_burst", "5", 5),
    "USER_RATE_LIMIT": ("user_rate_limit", "7.5", 7.5),
    "USER_RATE_BURST": ("user_rate_burst", "9", 9),
    "ROOM_PUBLISH_RATE": ("room_publish_rate", "2.5", 2.5),
    "ROOM_PUBLISH_BURST": ("room_publish_burst", "4", 4),
    "MESSAGE_PENDING_MAX_COUNT": ("pending_max_count", "50", 50),
    "MESSAGE_PENDING_MAX_BYTES": ("pending_max_bytes", "1048576", 1048576),
    "WS_PING_INTERVAL": ("ping_interval", "15", 15.0),
    "WS_PONG_TIMEOUT": ("pong_timeout", "4", 4.0),
    "WS_OUTBOX_SIZE": ("outbox_size", "64", 64),
    "WS_SEND_TIMEOUT": ("send_timeout", "2.5", 2.5),
    "WS_HANDSHAKE_TIMEOUT": ("handshake_timeout", "3", 3.0),
    "WS_MAX_PENDING_HANDSHAKES": ("max_pending_handshakes", "100", 100),
    "HTTP_MAX_PENDING_HEADS_PER_IP": ("max_pending_heads_per_ip", "4", 4),
    "WS_MAX_CONNECTIONS_PER_IP": ("max_connections_per_ip", "1000", 1000),
    "HTTP_MAX_CONNECTIONS": ("http_max_connections", "200", 200),
    "HTTP_MAX_CONNECTIONS_PER_IP": ("http_max_connections_per_ip", "8", 8),
    "WS_PRESENCE_INTERVAL": ("presence_interval", "0.25", 0.25),
    "CLUSTER_NODE_TTL": ("node_ttl", "30", 30.0),
    "SHUTDOWN_TIMEOUT": ("drain_timeout", "7", 7.0),
    "METRICS_REQUIRE_KEY": ("metrics_require_key", "true", True),
    "METRICS_TOKEN": ("metrics_token", "m" * 16, "m" * 16),
    "ONLINE_VISIBILITY": ("online_visibility", "admin", "admin"),
    "LOG_LEVEL": ("log_level", "DEBUG", "DEBUG"),
    "LOG_FORMAT": ("log_format", "json", "json"),
    "REFRESH_TTL": ("refresh_ttl", "86400", 86400.0),
    "LOGIN_ACCOUNT_BURST": ("login_account_burst", "4", 4),
    "LOGIN_ACCOUNT_REFILL": ("login_account_refill", "12.5", 12.5),
    "LOGIN_IP_BURST": ("login_ip_burst", "40", 40),
    "LOGIN_IP_REFILL": ("login_ip_refill", "2", 2.0),
    "REGISTER_IP_BURST": ("register_ip_burst", "2", 2),
    "REGISTER_IP_REFILL": ("register_ip_refill", "600", 600.0),
    "AUTH_THROTTLE_MAX_KEYS": ("auth_throttle_max_keys", "1000", 1000),
    "HASH_CONCURRENCY": ("hash_concurrency", "4", 4),
    "HASH_MAX_WAITING_LOGINS": ("hash_max_waiting_logins", "0", 0),
    "HASH_MAX_WAITING_SIGNUPS": ("hash_max_waiting_signups", "3", 3),
}


def test_a_users_rate_follows_a_connections_unless_set() -> None:
    assert load({"WS_RATE_LIMIT": "3", "WS_RATE_BURST": "4"}).user_rate == (3.0, 4)
    assert load({"WS_RATE_LIMIT": "3", "USER_RATE_LIMIT": "5"}).user_rate == (5.0, 40)
    assert load({"USER_RATE_LIMIT": "0", "USER_RATE_BURST": "2"}).user_rate == (0.0, 2)


def test_every_variable_is_read() -> None:
    env = {name: raw for name, (_, raw, _) in EVERY_VARIABLE.items()}
    settings = load_settings(env, hypercorn_toml=None)
    got = {name: getattr(settings, attr) for name, (attr, _, _) in EVERY_VARIABLE.items()}
    assert got == {name: value for name, (_, _, value) in EVERY_VARIABLE.items()}
    assert not settings.jwt_secret_generated


@pytest.mark.parametrize("name", sorted(EVERY_VARIABLE))
def test_each_variable_alone(name: str) -> None:
    attr, raw, value = EVERY_VARIABLE[name]
    # a cluster (REDIS_URL) needs a shared store: the one variable that needs another
    shared = {"DATABASE_URL": "postgresql://db/momentum"} if name == "REDIS_URL" else {}
    settings = load({name: raw, **shared})
    assert getattr(settings, attr) == value
    assert type(getattr(settings, attr)) is type(value)


def test_empty_variable_means_unset() -> None:
    assert load({"WS_MAX_CONNECTIONS": "", "REDIS_URL": ""}) == load()


def test_unknown_variables_are_ignored() -> None:
    assert load({"WS_MAX_CONNECTIONZ": "abc", "PATH": "/bin"}) == load()


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
    ],
)
def test_booleans(raw: str, value: bool) -> None:
    assert load({"METRICS_REQUIRE_KEY": raw}).metrics_require_key is value


# -- bad values ------------------------------------------------------------------------------

INTS = sorted(name for name, (_, _, value) in EVERY_VARIABLE.items() if type(value) is int)
FLOATS = sorted(name for name, (_, _, value) in EVERY_VARIABLE.items() if type(value) is float)


@pytest.mark.parametrize("name", INTS)
@pytest.mark.parametrize("raw", ["ten", "1.5", "1e3", "0x10"])
def test_bad_int(name: str, raw: str) -> None:
    message = refusal({name: raw})
    assert message.startswith(f"{name} must be")
    assert repr(raw) in message


@pytest.mark.parametrize("name", FLOATS)
@pytest.mark.parametrize("raw", ["soon", "1,5", "5s"])
def test_bad_float(name: str, raw: str) -> None:
    message = refusal({name: raw})
    assert message.startswith(f"{name} must be")
    assert repr(raw) in message


@pytest.mark.parametrize("name", FLOATS)
@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "NaN"])
def test_non_finite_float(name: str, raw: str) -> None:
    assert refusal({name: raw}).startswith(f"{name} must be a finite number")


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled"])
def test_bad_bool(raw: str) -> None:
    message = refusal({"METRICS_REQUIRE_KEY": raw})
    assert message == f"METRICS_REQUIRE_KEY must be true or false, got {raw!r}"


@pytest.mark.parametrize(
    "name",
    [
        "WS_MAX_CONNECTIONS",
        "ROOM_MAX_PER_CONNECTION",
        "WS_MAX_CONNECTIONS_PER_USER",
        "WS_OUTBOX_SIZE",
        "WS_CLEANUP_INTERVAL",
        "WS_PONG_TIMEOUT",
        "WS_SEND_TIMEOUT",
        "WS_HANDSHAKE_TIMEOUT",
        "WS_MAX_PENDING_HANDSHAKES",
        "HTTP_MAX_PENDING_HEADS_PER_IP",
        "WS_MAX_CONNECTIONS_PER_IP",
        "HTTP_MAX_CONNECTIONS",
        "HTTP_MAX_CONNECTIONS_PER_IP",
        "JWT_TTL",
        "REFRESH_TTL",
        "WS_PRESENCE_INTERVAL",
        "SHUTDOWN_TIMEOUT",
        "LOGIN_ACCOUNT_BURST",
        "LOGIN_ACCOUNT_REFILL",
        "LOGIN_IP_BURST",
        "LOGIN_IP_REFILL",
        "REGISTER_IP_BURST",
        "REGISTER_IP_REFILL",
        "AUTH_THROTTLE_MAX_KEYS",
        "HASH_CONCURRENCY",
        "MESSAGE_PENDING_MAX_COUNT",
        "MESSAGE_PENDING_MAX_BYTES",
    ],
)
@pytest.mark.parametrize("raw", ["0", "-1"])
def test_must_be_positive(name: str, raw: str) -> None:
    assert refusal({name: raw}).startswith(f"{name} must be greater than 0")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WS_MAX_MESSAGE_SIZE": "1023"}, "WS_MAX_MESSAGE_SIZE"),
        ({"WS_RATE_LIMIT": "-1"}, "WS_RATE_LIMIT"),
        ({"WS_RATE_BURST": "0"}, "WS_RATE_BURST"),
        ({"USER_RATE_LIMIT": "-1"}, "USER_RATE_LIMIT"),
        ({"USER_RATE_BURST": "0"}, "USER_RATE_BURST"),
        ({"ROOM_PUBLISH_RATE": "-1"}, "ROOM_PUBLISH_RATE"),
        ({"ROOM_PUBLISH_BURST": "0"}, "ROOM_PUBLISH_BURST"),
        ({"WS_RATE_LIMIT": "-1", "USER_RATE_LIMIT": "1"}, "WS_RATE_LIMIT"),
        ({"MESSAGE_PENDING_MAX_BYTES": "65535"}, "MESSAGE_PENDING_MAX_BYTES"),
        ({"WS_PING_INTERVAL": "-1"}, "WS_PING_INTERVAL"),
        ({"JWT_LEEWAY": "-0.5"}, "JWT_LEEWAY"),
        ({"HASH_MAX_WAITING_LOGINS": "-1"}, "HASH_MAX_WAITING_LOGINS"),
        ({"HASH_MAX_WAITING_SIGNUPS": "-1"}, "HASH_MAX_WAITING_SIGNUPS"),
        ({"LOG_FORMAT": "xml"}, "log format"),
        ({"ONLINE_VISIBILITY": "everyone"}, "ONLINE_VISIBILITY"),
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN"),
        ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
        ({"LOG_LEVEL": "TRACE"}, "LOG_LEVEL"),
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "momentum.db"}, "DATABASE_URL"),
    ],
)
def test_out_of_range(env: dict[str, str], named: str) -> None:
    assert named in refusal(env)


@pytest.mark.parametrize(
    "env",
    [
        {"WS_MAX_MESSAGE_SIZE": "1024"},
        {"WS_RATE_LIMIT": "0"},  # 0 disables the limit
        {"WS_RATE_BURST": "1"},
        {"USER_RATE_LIMIT": "0"},  # 0 disables the user's limit
        {"MESSAGE_PENDING_MAX_BYTES": "65536"},
        {"WS_PING_INTERVAL": "0"},
        {"JWT_LEEWAY": "0"},
        {"DATABASE_URL": "sqlite:///tmp/x.db"},
        {"DATABASE_URL": "postgres://u@db/x"},
        {"LOG_LEVEL": "warning"},
        {"LOG_LEVEL": "CRITICAL"},
        {"ONLINE_VISIBILITY": "api_key"},
        {"ONLINE_VISIBILITY": "all"},
    ],
)
def test_edges_that_are_accepted(env: dict[str, str]) -> None:
    load(env)


# -- JWT secret ------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["short", "x" * 31, "é" * 15])
def test_short_jwt_secret(secret: str) -> None:
    assert "JWT_SECRET" in refusal({"JWT_SECRET": secret})


def test_secret_is_measured_in_bytes() -> None:
    assert load({"JWT_SECRET": "é" * 16}).jwt_secret == "é" * 16  # 16 characters, 32 bytes


@pytest.mark.parametrize("env", [{}, {"JWT_SECRET": ""}])
def test_missing_jwt_secret_is_generated_and_flagged(env: dict[str, str]) -> None:
    first = load_settings(env, hypercorn_toml=None)
    second = load_settings(env, hypercorn_toml=None)
    assert first.jwt_secret_generated
    assert len(first.jwt_secret.encode()) >= 32
    assert first.jwt_secret != second.jwt_secret


def test_secret_from_a_flag_is_not_generated() -> None:
    settings = load_settings({}, hypercorn_toml=None, jwt_secret="f" * 32)
    assert (settings.jwt_secret, settings.jwt_secret_generated) == ("f" * 32, False)


# -- hypercorn.toml and flags ----------------------------------------------------------------


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hypercorn.toml"
    path.write_text(text)
    return path


def test_bind_from_hypercorn_toml_list(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'bind = ["127.0.0.1:9000", "[::1]:9001"]\nkeep_alive_timeout = 5\n')
    settings = load_settings({"JWT_SECRET": SECRET}, hypercorn_toml=path)
    assert settings.bind == "127.0.0.1:9000"
    assert settings.host_port == ("127.0.0.1", 9000)
    assert settings.hypercorn == {
        "bind": ["127.0.0.1:9000", "[::1]:9001"],
        "keep_alive_timeout": 5,
    }


def test_bind_from_hypercorn_toml_string(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'bind = "localhost:7000"\n')
    assert load_settings({"JWT_SECRET": SECRET}, hypercorn_toml=path).bind == "localhost:7000"


def test_bind_flag_overrides_the_toml(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'bind = ["127.0.0.1:9000"]\n')
    settings = load_settings({"JWT_SECRET": SECRET}, hypercorn_toml=path, bind="0.0.0.0:8123")
    assert settings.bind == "0.0.0.0:8123"
    assert settings.hypercorn["bind"] == ["127.0.0.1:9000"]


def test_none_flags_do_not_override(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'bind = ["127.0.0.1:9000"]\n')
    settings = load_settings({"JWT_SECRET": SECRET}, hypercorn_toml=path, bind=None)
    assert settings.bind == "127.0.0.1:9000"


def test_flags_override_the_environment() -> None:
    settings = load({"WS_MAX_CONNECTIONS": "5"}, max_connections=7, log_level="WARNING")
    assert (settings.max_connections, settings.log_level) == (7, "WARNING")


def test_toml_without_bind_keeps_the_default(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "graceful_timeout = 10\n")
    settings = load_settings({"JWT_SECRET": SECRET}, hypercorn_toml=path)
    assert settings.bind == DEFAULT_BIND
    assert settings.hypercorn == {"graceful_timeout": 10}


def test_missing_toml_is_skipped(tmp_path: Path) -> None:
    settings = load_settings({"JWT_SECRET": SECRET}, hypercorn_toml=tmp_path / "absent.toml")
    assert settings == load()


def test_broken_toml(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "bind = [\n")
    with pytest.raises(ConfigError) as info:
        load_settings({"JWT_SECRET": SECRET}, hypercorn_toml=path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("bind", ["8000", "host:", "host:port", "host:70000", ":-1"])
def test_bad_bind(bind: str) -> None:
    assert "bind must be HOST:PORT" in refusal({}, bind=bind)


@pytest.mark.parametrize(
    ("bind", "host_port"),
    [
        ("0.0.0.0:8000", ("0.0.0.0", 8000)),
        (":8000", ("0.0.0.0", 8000)),
        ("[::]:8000", ("::", 8000)),
        ("example.org:0", ("example.org", 0)),
    ],
)
def test_parse_bind(bind: str, host_port: tuple[str, int]) -> None:
    assert parse_bind(bind) == host_port


# -- workers ---------------------------------------------------------------------------------


def test_workers_above_one_need_redis() -> None:
    message = refusal({}, workers=2)
    assert "REDIS_URL" in message
    assert "--workers" in message


def test_workers_below_one() -> None:
    assert "--workers" in refusal({}, workers=0)


def test_a_cluster_needs_a_shared_store() -> None:
    message = refusal({"REDIS_URL": "redis://cache"}, workers=2)
    assert "postgresql://" in message and "SQLite" in message


def test_workers_with_redis_and_postgresql_are_accepted() -> None:
    env = {"REDIS_URL": "redis://cache:6379/0", "DATABASE_URL": "postgresql://db/momentum"}
    settings = load(env, workers=3)
    assert (settings.workers, settings.redis_url, settings.node_ttl) == (
        3,
        "redis://cache:6379/0",
        15.0,
    )


def test_redis_url_and_node_ttl_are_checked() -> None:
    pg = {"DATABASE_URL": "postgresql://db/momentum"}
    assert "REDIS_URL" in refusal({**pg, "REDIS_URL": "http://cache"})
    assert "CLUSTER_NODE_TTL" in refusal({**pg, "REDIS_URL": "redis://c", "CLUSTER_NODE_TTL": "1"})


# -- WS_ALLOWED_ORIGINS ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "origins"),
    [
        ("https://app.example", {"https://app.example"}),
        (
            " https://app.example/ , http://localhost:3000,,",
            {"https://app.example", "http://localhost:3000"},
        ),
        ("*", {"*"}),
    ],
)
def test_allowed_origins(raw: str, origins: set[str]) -> None:
    assert load({"WS_ALLOWED_ORIGINS": raw}).allowed_origins == frozenset(origins)
    assert load({"HTTP_ALLOWED_ORIGINS": raw}).http_allowed_origins == frozenset(origins)


def test_an_origin_is_a_scheme_and_a_host() -> None:
    assert "HTTP_ALLOWED_ORIGINS must list origins" in refusal(
        {"HTTP_ALLOWED_ORIGINS": "app.example.com"}
    )


def test_empty_allowed_origins_means_same_host() -> None:
    assert load({"WS_ALLOWED_ORIGINS": ""}).allowed_origins is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('keep_alive_timeout = "abc"', "keep_alive_timeout must be a number of seconds > 0"),
        ("keep_alive_timeout = 0", "keep_alive_timeout must be"),
        ("keep_alive_timeout = nan", "keep_alive_timeout must be"),
        ("h11_max_incomplete_size = 1.5", "h11_max_incomplete_size must be a whole number"),
        ("include_server_header = 1", "include_server_header must be true or false"),
        ("bind = []", "bind must be"),
        ("keep_alive_timout = 5", "unknown setting 'keep_alive_timout'"),
        ('certfile = "cert.pem"', "certfile is not supported: Momentum speaks plain TCP"),
        ("workers = 4", "workers is not supported: use `momentum serve --workers N`"),
    ],
)
def test_toml_values_are_checked(tmp_path: Path, text: str, says: str) -> None:
    """hypercorn takes any value; Momentum refuses a wrong one at start, in one line."""
    path = write_toml(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as info:
        load_settings({"JWT_SECRET": SECRET}, hypercorn_toml=path)
    assert says in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_the_repositorys_toml_is_valid() -> None:
    path = Path(__file__).parents[2] / "hypercorn.toml"
    assert load_settings({"JWT_SECRET": SECRET}, hypercorn_toml=path).hypercorn


def test_a_named_toml_must_exist(tmp_path: Path) -> None:
    for missing in (tmp_path / "absent.toml", tmp_path):
        with pytest.raises(ConfigError) as info:
            load_settings(
                {"JWT_SECRET": SECRET}, hypercorn_toml=missing, hypercorn_toml_required=True
            )
        assert str(missing) in str(info.value)


def test_serve_refuses_a_missing_config_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from momentum.cli import main

    assert main(["serve", "--config", str(tmp_path / "absent.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("momentum: configuration error:") and "absent.toml" in err
    assert err.count("\n") == 1
