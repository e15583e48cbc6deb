"""The tus 1.0 resumable-upload protocol's wire details (https://tus.io/protocols/resumable-upload).

Extensions offered: creation, creation-with-upload, termination, checksum, expiration.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import datetime
from email.utils import format_datetime

from parley.media import errors
from parley.media.errors import TUS_VERSION as VERSION
from parley.media.errors import tus_headers as headers

__all__ = ["VERSION", "headers"]  # re-exported: declared in errors.py, the leaf module
EXTENSIONS = "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration"
CHECKSUM_ALGORITHMS = ("sha1", "sha256", "md5")
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
MAX_METADATA_BYTES = 4096
# Sizes and offsets are 63-bit (BIGINT columns); anything longer than 19 ASCII digits is no
# size this server could hold. ASCII only: ``str.isdigit`` also says yes to "²" and "١٢".
MAX_INT = 2**63 - 1
_ASCII_INT = re.compile(r"[0-9]{1,19}", re.ASCII)


def require_version(value: str | None) -> None:
    if value != VERSION:
        raise errors.tus_version()


def ascii_int(value: str | None) -> int | None:
    """A non-negative integer written in ASCII digits that fits 63 bits, else ``None``."""
    if value is None:
        return None
    value = value.strip()
    if not _ASCII_INT.fullmatch(value):
        return None
    number = int(value)
    return number if number <= MAX_INT else None


def parse_int_header(name: str, value: str | None) -> int:
    number = ascii_int(value)
    if number is None:
        raise errors.tus_header(f"The {name} header must be a non-negative integer.")
    return number


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata: key base64,key2 base64`` → ``{key: decoded text}``."""
    if not header:
        return {}
    if len(header) > MAX_METADATA_BYTES:
        raise errors.tus_metadata("Upload-Metadata is too long.")
    result: dict[str, str] = {}
    for item in header.split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(" ")
        if not key or key in result:
            raise errors.tus_metadata("Upload-Metadata has an empty or repeated key.")
        try:
            result[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise errors.tus_metadata(
                f"Upload-Metadata value of {key!r} is not base64 UTF-8."
            ) from exc
    return result


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: sha1 <base64>`` → ``("sha1", digest)``."""
    if header is None:
        return None
    algorithm, _, value = header.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise errors.tus_checksum_algorithm(algorithm, CHECKSUM_ALGORITHMS)
    try:
        return algorithm, base64.b64decode(value.strip(), validate=True)
    except binascii.Error as exc:
        raise errors.tus_checksum() from exc


def hasher(algorithm: str) -> hashlib._Hash:
    return hashlib.new(algorithm)


def http_date(value: datetime) -> str:
    return format_datetime(value, usegmt=True)
