"""Momentum: a self-hosted real-time messaging server on Trio."""

__version__ = "0.1.0"
