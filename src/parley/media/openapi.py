"""What the media routes read outside FastAPI's parameters, told to the OpenAPI document.

The tus routes take their arguments from headers and a raw body, and the multipart upload
parses its own stream (so that nothing is buffered whole): FastAPI cannot see any of that, so
without these declarations the document would describe operations that take nothing, and a
client generated from it (or the schema fuzzer) would send requests the server must refuse.
"""

from __future__ import annotations

from typing import Any

from parley.media import tus

_UINT = {"type": "string", "pattern": "^[0-9]{1,18}$"}


def _header(name: str, description: str, schema: dict[str, Any], required: bool) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": schema,
    }


TUS_RESUMABLE = _header(
    "Tus-Resumable", "The tus protocol version.", {"type": "string", "enum": [tus.VERSION]}, True
)
_UPLOAD_LENGTH = _header(
    "Upload-Length", "The upload's size in bytes (or send Upload-Defer-Length).", _UINT, False
)
_DEFER_LENGTH = _header(
    "Upload-Defer-Length",
    "1: the size comes later, with a PATCH (recordings streamed while they are made).",
    {"type": "string", "enum": ["1"]},
    False,
)
_METADATA = _header(
    "Upload-Metadata",
    "tus metadata: `filename`, `content_type` (or `filetype`), `kind`, `meeting_id`, "
    "`recording_id`, each `key base64(value)`, comma-separated.",
    {"type": "string", "maxLength": 4096},
    False,
)
_UPLOAD_OFFSET = _header("Upload-Offset", "Where this chunk starts.", _UINT, True)
_CHECKSUM = _header(
    "Upload-Checksum", "`sha1 <base64 digest>` of this chunk.", {"type": "string"}, False
)
_CHUNK_BODY = {
    "required": True,
    "content": {tus.OFFSET_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
}
_TUS_RESPONSE_HEADERS = {
    "Tus-Resumable": {"schema": {"type": "string"}},
    "Upload-Offset": {"schema": {"type": "string"}},
}

TUS_CREATE: dict[str, Any] = {
    "parameters": [TUS_RESUMABLE, _UPLOAD_LENGTH, _DEFER_LENGTH, _METADATA],
    "requestBody": {**_CHUNK_BODY, "required": False},
    "responses": {
        "201": {
            "description": "Created: `Location` is the upload's URL.",
            "headers": {"Location": {"schema": {"type": "string"}}, **_TUS_RESPONSE_HEADERS},
        }
    },
}
TUS_HEAD: dict[str, Any] = {
    "parameters": [TUS_RESUMABLE],
    "responses": {"200": {"description": "How far it got.", "headers": _TUS_RESPONSE_HEADERS}},
}
TUS_PATCH: dict[str, Any] = {
    "parameters": [TUS_RESUMABLE, _UPLOAD_OFFSET, _CHECKSUM],
    "requestBody": _CHUNK_BODY,
    "responses": {
        "204": {"description": "Stored; the new offset.", "headers": _TUS_RESPONSE_HEADERS}
    },
}
TUS_DELETE: dict[str, Any] = {"parameters": [TUS_RESUMABLE]}

MULTIPART_UPLOAD: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "kind": {"type": "string"},
                        "meeting_id": {"type": "string", "format": "uuid"},
                        "recording_id": {"type": "string", "format": "uuid"},
                    },
                }
            }
        },
    }
}

_RANGE = _header("Range", "`bytes=<from>-<to>`: part of the file (206).", {"type": "string"}, False)
_BYTES = {"*/*": {"schema": {"type": "string", "format": "binary"}}}

CONTENT: dict[str, Any] = {
    "parameters": [_RANGE],
    "responses": {
        "200": {"description": "The file, in its own content type.", "content": _BYTES},
        "206": {"description": "The requested range of the file.", "content": _BYTES},
        "304": {"description": "Not modified (`If-None-Match`)."},
        "307": {"description": "Redirect to a presigned S3 URL (when configured)."},
    },
}
THUMBNAIL: dict[str, Any] = {
    "responses": {
        "200": {
            "description": "A 320 px WebP.",
            "content": {"image/webp": {"schema": {"type": "string", "format": "binary"}}},
        },
        "304": {"description": "Not modified (`If-None-Match`)."},
    },
}
