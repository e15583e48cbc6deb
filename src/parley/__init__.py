"""Parley: a self-hostable video-conferencing platform."""

__version__ = "0.1.0"
