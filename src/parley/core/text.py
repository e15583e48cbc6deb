"""Text types that refuse characters which have no place in what people type.

PostgreSQL cannot store NUL in a text column (the driver raises, which used to surface as a
500), and control or bidi-override characters in names let one person disguise what another
reads (``\\u202egnp.exe.png``). Schemas use these types so such input gets a 422 that names the
field, before anything reaches the database.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

# Bidi embedding/override/isolate controls: they reorder what follows them on screen.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_MULTILINE_ALLOWED = frozenset("\n\r\t")


def refuse_control_characters(value: str) -> str:
    """One line of text: no control characters (C0, DEL, C1) and no bidi controls."""
    for char in value:
        if unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS:
            raise ValueError(f"must not contain the control character U+{ord(char):04X}")
    return value


def refuse_control_characters_but_newlines(value: str) -> str:
    """Free text (chat, descriptions): newlines and tabs are fine, other controls and NUL not."""
    for char in value:
        if char in _MULTILINE_ALLOWED:
            continue
        if unicodedata.category(char) == "Cc":
            raise ValueError(f"must not contain the control character U+{ord(char):04X}")
    return value


def strip_bidi_controls(value: str) -> str:
    """For names taken from files (uploads): drop what would reorder the name on screen."""
    return "".join(char for char in value if char not in BIDI_CONTROLS)


SingleLineText = Annotated[str, AfterValidator(refuse_control_characters)]
"""Names, titles, usernames, passwords, codes: anything typed on one line."""

MultiLineText = Annotated[str, AfterValidator(refuse_control_characters_but_newlines)]
"""Chat messages, descriptions: newlines and tabs allowed, NUL and other controls refused."""
