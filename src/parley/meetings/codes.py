"""Meeting codes (``xkq-mdwp-rtz``): how they are drawn and which strings could be one.

A code is the meeting's public name: it is typed by people and looked up by anyone, so it is
made to be read aloud and to be guessed only slowly (see the rate limit on ``/by-code``)."""

from __future__ import annotations

import secrets
import string

CODE_ALPHABET = "bcdfghjkmnpqrstvwxz"  # no vowels (no words), no look-alikes (l)

# Wider than what new_code draws from, so that any code ever issued still resolves.
_CODE_CHARACTERS = frozenset(string.ascii_lowercase + string.digits + "-")
CODE_MAX_LENGTH = 16  # the column's width


def new_code() -> str:
    """``xkq-mdwp-rtz``: 19^10 ≈ 6e12 codes, looked up under a per-address rate limit."""
    parts = (3, 4, 3)
    return "-".join("".join(secrets.choice(CODE_ALPHABET) for _ in range(n)) for n in parts)


def plausible_code(code: str) -> bool:
    """Could this be a meeting code at all? Anything else is a 404 without a query (a NUL or
    other control character would not even reach PostgreSQL)."""
    return 0 < len(code) <= CODE_MAX_LENGTH and _CODE_CHARACTERS.issuperset(code)
