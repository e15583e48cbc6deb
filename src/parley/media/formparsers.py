"""``multipart/form-data`` parsed as it streams in (the way Starlette keeps its formparsers).

Starlette's own form parser spools every file part before the route sees it; an upload may be
gigabytes, so media-service drives python-multipart itself: the one file part is handed on
chunk by chunk (straight to storage), the small text fields beside it are collected, and a
malformed body is the client's mistake (400 ``bad-form``), never a 500.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from parley.media import errors

MAX_FORM_FIELD_BYTES = 4096
# Printable ASCII, as RFC 2046 allows (and short): anything else is no boundary we parse.
_BOUNDARY = re.compile(r"^[ -~]{1,200}$")


def form_boundary(content_type_header: str) -> bytes:
    """The boundary of a ``multipart/form-data`` body; 415 for any other body."""
    content_type, options = parse_options_header(content_type_header)
    boundary: bytes = options.get(b"boundary", b"")
    if content_type != b"multipart/form-data" or not _BOUNDARY.match(boundary.decode("latin-1")):
        raise errors.not_multipart()
    return boundary


class StreamingForm:
    """``multipart/form-data`` parsed as it arrives: the one file part's bytes are handed on
    chunk by chunk (never held whole), small text fields are collected."""

    def __init__(self, request: Request, boundary: bytes) -> None:
        self.request = request
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.content_type: str | None = None
        self.file_seen = False
        self._pending: list[bytes] = []
        self._headers: dict[str, str] = {}
        self._field = b""
        self._value = b""
        self._name = ""
        self._in_file = False
        self._buffer = bytearray()
        callbacks: Any = {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }
        self.parser = MultipartParser(boundary, callbacks)

    def _part_begin(self) -> None:
        self._headers, self._in_file, self._buffer = {}, False, bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value.decode("latin-1")
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            if self.file_seen or self._name != "file":
                raise errors.bad_form("Send exactly one file, in the form field `file`.")
            self.file_seen = self._in_file = True
            self.filename = options[b"filename"].decode("utf-8", "replace")
            self.content_type = self._headers.get("content-type")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(bytes(data[start:end]))
        else:
            self._buffer += data[start:end]
            if len(self._buffer) > MAX_FORM_FIELD_BYTES:
                raise errors.bad_form("A form field is too long.")

    def _part_end(self) -> None:
        if not self._in_file:
            self.fields[self._name] = self._buffer.decode("utf-8", "replace")

    async def file_chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.request.stream():
                self.parser.write(chunk)
                if self._pending:
                    data = b"".join(self._pending)
                    self._pending.clear()
                    yield data
            self.parser.finalize()
        except MultipartParseError as exc:
            # The client's bytes are not multipart/form-data as declared: its mistake, a 400.
            raise errors.bad_form(f"The multipart body is malformed: {exc}"[:300]) from exc
        if not self.file_seen:
            raise errors.bad_form("The form has no `file` part.")
