"""Parameter types whose parsing is as strict as the OpenAPI document says.

Pydantic reads a bare number as a Unix time when it expects a datetime (``?to=0.5`` is 1970),
so an API documented as taking ISO 8601 date-times silently accepted what the document
forbids; a client that sends seconds by mistake got answers about 1970 instead of a 422.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def refuse_numbers(value: Any) -> Any:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("must be an ISO 8601 date-time (e.g. 2026-01-01T09:00:00Z), not a number")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(refuse_numbers)]
"""A date-time given as ISO 8601 text, never as a number of seconds."""
