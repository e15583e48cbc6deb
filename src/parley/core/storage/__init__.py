"""Object storage for media, recordings and avatars.

The embedded default is a local directory (:mod:`.local`); any S3-compatible store plugs in
behind the same interface (:mod:`.s3`, :mod:`.base`). This module picks one from the settings
and re-exports the names callers use, so ``from parley.core.storage import ...`` is the only
import services need.
"""

from __future__ import annotations

from fastapi import Request

from parley.config import Settings
from parley.core.storage.base import (
    READ_CHUNK,
    Appender,
    ObjectInfo,
    ObjectNotFound,
    Storage,
    StorageUnavailable,
    check_key,
)
from parley.core.storage.local import LOCAL_WRITE_BUFFER, LocalStorage
from parley.core.storage.s3 import COMPLETE_TIMEOUT_S, S3_PART_SIZE, S3_PARTS_IN_FLIGHT, S3Storage

__all__ = [
    "COMPLETE_TIMEOUT_S",
    "LOCAL_WRITE_BUFFER",
    "READ_CHUNK",
    "S3_PARTS_IN_FLIGHT",
    "S3_PART_SIZE",
    "Appender",
    "LocalStorage",
    "ObjectInfo",
    "ObjectNotFound",
    "S3Storage",
    "Storage",
    "StorageUnavailable",
    "check_key",
    "create_storage",
    "get_storage",
]


def create_storage(settings: Settings) -> Storage:
    """The configured store: S3 when a bucket is set, else ``<data_dir>/objects``."""
    bucket = settings.s3_bucket
    if bucket:
        secret = settings.s3_secret_key
        return S3Storage(
            bucket=bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=secret.get_secret_value() if secret is not None else None,
            create_bucket=settings.s3_create_bucket,
        )
    return LocalStorage(settings.data_dir / "objects")


async def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage
