"""Integers the JSON parser cannot keep exact.

orjson parses integers from -2**63 to 2**64-1 exactly and turns any larger one into a float,
silently: `{"n": 123456789012345678901234567890}` would reach the recipient as `1.23e+29`.
Such integers are refused instead of altered.
"""

from __future__ import annotations

import json
import re

#: The integers a message may carry: what orjson parses and encodes exactly.
MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**64 - 1

# An integer beyond 64 bits has at least 19 digits in a row. Almost no message has such a
# run, so the exact (slower) parse runs only for the few that do.
_LONG_DIGITS = re.compile(r"\d{19}")
_LONG_DIGITS_BYTES = re.compile(rb"\d{19}")


class _TooBig(Exception):
    pass


def _exact_int(literal: str) -> int:
    value = int(literal)
    if not MIN_INTEGER <= value <= MAX_INTEGER:
        raise _TooBig
    return value


def integers_fit(text: str | bytes) -> bool:
    """Does every integer in the JSON `text` (already known to parse) fit in 64 bits?"""
    # Scanned as it came (no copy of every message to bytes just to look for digits).
    found = _LONG_DIGITS.search(text) if isinstance(text, str) else _LONG_DIGITS_BYTES.search(text)
    if found is None:
        return True
    try:
        json.loads(text, parse_int=_exact_int)
    except _TooBig:
        return False
    except (ValueError, RecursionError):  # refused for its own reasons elsewhere
        return True
    return True
