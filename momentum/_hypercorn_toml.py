"""`hypercorn.toml`: read and checked at start, so that a typo is one clear line then and not
an empty reply to every HTTP request later (hypercorn itself takes any value it is given).

Only the keys that mean something to Momentum are accepted, each with its type: `bind`, and
hypercorn's HTTP settings that apply to the HTTP connections Momentum hands it (`/ws` is
served by Momentum itself). Keys of hypercorn that Momentum does not honour (TLS, workers,
its own sockets) are refused with the reason, not silently ignored.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any


class TomlError(ValueError):
    """One line saying what is wrong with the file."""


def _positive_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _non_negative_number(value: Any) -> bool:
    return _positive_number(value) or (value == 0 and not isinstance(value, bool))


def _string(value: Any) -> bool:
    return isinstance(value, str)


def _optional_string(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _bind(value: Any) -> bool:
    return (isinstance(value, str) and value != "") or (
        _strings(value) and len(value) > 0 and all(value)
    )


def _boolean(value: Any) -> bool:
    return isinstance(value, bool)


#: key → (check, what the check wants, for the error line)
KNOWN: dict[str, tuple[Callable[[Any], bool], str]] = {
    "bind": (_bind, 'an address "HOST:PORT" or a list of them'),
    "keep_alive_timeout": (_positive_number, "a number of seconds > 0"),
    "h11_max_incomplete_size": (_positive_int, "a whole number of bytes > 0"),
    "h11_pass_raw_headers": (_boolean, "true or false"),
    "read_timeout": (_positive_number, "a number of seconds > 0"),
    "max_app_queue_size": (_positive_int, "a whole number > 0"),
    "include_server_header": (_boolean, "true or false"),
    "include_date_header": (_boolean, "true or false"),
    "server_names": (_strings, "a list of host names"),
    "root_path": (_string, "a path"),
    "accesslog": (_optional_string, 'a file path or "-" (stderr)'),
    "access_log_format": (_string, "a log format string"),
    "graceful_timeout": (_non_negative_number, "a number of seconds >= 0 (it has no effect)"),
}

#: hypercorn's keys that Momentum does not honour, and why.
REFUSED = {
    "certfile": "Momentum speaks plain TCP: terminate TLS at a proxy",
    "keyfile": "Momentum speaks plain TCP: terminate TLS at a proxy",
    "ca_certs": "Momentum speaks plain TCP: terminate TLS at a proxy",
    "ciphers": "Momentum speaks plain TCP: terminate TLS at a proxy",
    "insecure_bind": "Momentum listens on one address: use bind",
    "quic_bind": "Momentum does not serve HTTP/3",
    "workers": "use `momentum serve --workers N`",
    "worker_class": "Momentum runs on Trio",
    "websocket_max_message_size": "/ws is Momentum's own: set WS_MAX_MESSAGE_SIZE",
    "websocket_ping_interval": "/ws is Momentum's own: set WS_PING_INTERVAL",
    "loglevel": "Momentum's logs go to stderr: set LOG_LEVEL",
    "errorlog": "Momentum's logs go to stderr: set LOG_LEVEL and LOG_FORMAT",
    "logconfig": "Momentum's logs go to stderr: set LOG_LEVEL and LOG_FORMAT",
}


def read_hypercorn_toml(path: Path) -> dict[str, Any]:
    """The file's settings, checked; a `TomlError` names the first problem."""
    if path.is_dir():
        raise TomlError(f"{path} is a directory, not a TOML file")
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TomlError(f"{path}: {exc}") from None
    for key, value in data.items():
        if key in REFUSED:
            raise TomlError(f"{path}: {key} is not supported: {REFUSED[key]}")
        if key not in KNOWN:
            raise TomlError(f"{path}: unknown setting {key!r} (known: {', '.join(sorted(KNOWN))})")
        check, wanted = KNOWN[key]
        if not check(value):
            raise TomlError(f"{path}: {key} must be {wanted}, got {value!r}")
    return data
