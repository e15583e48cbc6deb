"""HTTP download semantics of a file's bytes: ``Range``, ``ETag`` and ``Content-Disposition``.

Pure helpers (no storage, no database): the content route combines them. Anything a client can
put in these headers is parsed here defensively: a range past any size is "past the end", not
an exception, and a stored name is cleaned again before it reaches a browser's save dialog.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import quote

from parley.media import errors, specs, tus


def content_disposition(kind: str, filename: str) -> str:
    """Both a plain-ASCII ``filename`` and the exact UTF-8 ``filename*`` (RFC 6266). The name
    goes through :func:`specs.safe_filename` again: rows stored before names were cleaned
    may still hold bidi or control characters, which must not reach a browser's save dialog."""
    filename = specs.safe_filename(filename)
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_")
    fallback = fallback.replace("\\", "_").replace('"', "_")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$", re.ASCII)
# More digits than any 63-bit size has: the value is past every file's end.
_MAX_RANGE_DIGITS = 19


def _range_int(digits: str) -> int:
    """A range bound; one too long to be a size counts as "beyond the end" (``int()`` of
    5,000 digits raises, and no file is that large anyway)."""
    return int(digits) if len(digits) <= _MAX_RANGE_DIGITS else tus.MAX_INT + 1


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range as ``(first, last)``; ``None`` to send everything (no header, or
    several ranges, which we may ignore); 416 when it cannot be satisfied."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        if "," in header:
            return None
        raise errors.range_not_satisfiable(size)
    first, last = match.groups()
    if first == "" and last == "":
        raise errors.range_not_satisfiable(size)
    if first == "":
        length = _range_int(last)
        if length == 0 or size == 0:
            raise errors.range_not_satisfiable(size)
        return max(0, size - length), size - 1
    start = _range_int(first)
    end = min(_range_int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise errors.range_not_satisfiable(size)
    return start, end


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or etag in tags or f"W/{etag}" in tags


async def prefetched(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Read the first chunk before the response starts, so that a missing object or a store
    outage becomes a proper error response rather than a cut-off body."""
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = b""

    async def rest() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in chunks:
            yield chunk

    return rest()
