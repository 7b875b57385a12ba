"""Quiet Companion: an offline voice companion for aftercare and quiet presence."""

__version__ = "0.1.0"
