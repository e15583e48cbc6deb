"""A small file in one ``multipart/form-data`` request, streamed to storage and admitted.

The form is parsed as it arrives (:mod:`parley.media.formparsers`); its file part goes straight
to the file's object, within the size limit and charged to the owner's quota as it flows (a
chunked body declares no size). What the form says about the file is validated once the body
has ended (form fields may come after the file part); a refusal deletes what was stored.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator

from parley.core.auth import Principal
from parley.media import access, errors, files, quota, specs
from parley.media.formparsers import StreamingForm
from parley.media.models import MediaFile
from parley.media.runtime import MediaService

# What the multipart framing may add to the file's own bytes (boundaries, part headers, fields).
MULTIPART_OVERHEAD = 64 * 1024


async def store_stream(
    svc: MediaService,
    media_id: uuid.UUID,
    chunks: AsyncIterator[bytes],
    meter: quota.QuotaMeter,
) -> tuple[int, str]:
    """Stream ``chunks`` to the media's object, within the size limit and the owner's quota
    (charged to ``meter`` as they come); ``(size, sha256)``."""
    settings = svc.settings
    digest = hashlib.sha256()
    size = 0

    async def limited() -> AsyncIterator[bytes]:
        nonlocal size
        async for chunk in chunks:
            size += len(chunk)
            if size > settings.media_max_file_bytes:
                raise errors.file_too_large(settings.media_max_file_bytes)
            await meter.charge(len(chunk))
            digest.update(chunk)
            yield chunk

    await svc.storage.write_stream(files.object_key(media_id), limited())
    return size, digest.hexdigest()


async def upload_form(
    svc: MediaService,
    form: StreamingForm,
    principal: Principal,
    auth: dict[str, str],
    *,
    query: dict[str, str],
    declared: int | None,
) -> MediaFile:
    """Store and admit the form's file. ``query``: ``kind``, ``meeting_id``, ``recording_id``
    given as query parameters (they win over form fields); ``declared``: the body's
    ``Content-Length``, when it has one (checked against the limits before anything flows)."""
    settings = svc.settings
    if declared is not None and declared > settings.media_max_file_bytes + MULTIPART_OVERHEAD:
        raise errors.file_too_large(settings.media_max_file_bytes)
    owner = uuid.UUID(principal.user_id)
    await quota.check_quota(svc, owner, max(0, (declared or 0) - MULTIPART_OVERHEAD))
    if query.get("meeting_id"):
        spec = specs.upload_spec(query)
        await access.check_meeting_links(svc, spec, auth, principal.user_id)
    media_id = uuid.uuid4()
    # The bytes count against the quota as they arrive (a chunked body declares no size).
    meter = quota.QuotaMeter(svc, owner, media_id)
    try:
        size, sha256 = await store_stream(svc, media_id, form.file_chunks(), meter)
        try:
            fields = {**form.fields, **query}
            fields.setdefault("filename", form.filename or "")
            if "content_type" not in fields and form.content_type:
                fields["content_type"] = form.content_type
            spec = specs.upload_spec(fields)
            await access.check_meeting_links(svc, spec, auth, principal.user_id)
        except BaseException:
            await svc.storage.delete(files.object_key(media_id))
            raise
        return await files.admit(
            svc,
            media_id=media_id,
            owner=principal,
            auth=auth,
            spec=spec,
            size=size,
            sha256=sha256,
        )
    finally:
        # Released once the file's row counts it (or it was thrown away).
        await meter.release()
