"""The operator dashboard's page: plain HTML, CSS and JavaScript shipped inside the package
(no build step, nothing fetched from elsewhere). `momentum.http` serves it at `/dashboard`."""

from __future__ import annotations

from importlib import resources

#: The files the page is made of, and the content type each is served with.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "chart.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


def read_file(name: str) -> bytes:
    """One of `FILES`' contents (KeyError for any other name)."""
    if name not in FILES:
        raise KeyError(name)
    return (resources.files(__name__) / "static" / name).read_bytes()


__all__ = ["FILES", "read_file"]
