"""`GET /ws/stats` as text for people: one labelled line per counter, nested ones inline."""

from __future__ import annotations

from typing import Any


def format_server_stats(stats: dict[str, Any]) -> str:
    """`server_uptime: 3725` becomes `  server uptime      1 h 02 min 05 s`; a mapping of counts
    becomes `text 2, notification 1`; a list of objects (a cluster's `nodes`) one line each."""
    width = max((len(key) for key in stats), default=0)
    lines = []
    for key, value in stats.items():
        label = key.replace("_", " ")
        if isinstance(value, list):
            lines.append(f"  {label}:")
            lines.extend(f"    {_inline(item)}" for item in value)
            continue
        text = _duration(value) if key == "server_uptime" else _inline(value)
        lines.append(f"  {label:<{width}}  {text}")
    return "\n".join(lines)


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        if not value:
            return "none"
        return ", ".join(f"{key.replace('_', ' ')} {_inline(v)}" for key, v in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return str(seconds)
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
