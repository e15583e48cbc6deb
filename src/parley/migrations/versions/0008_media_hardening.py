"""media hardening (issue 13): file names stored before names were cleaned lose bidi and
control characters

New names are cleaned on the way in (``media.service.safe_filename``); names already stored
could still carry ``\\u202e`` (which shows ``\\u202egnp.exe.png`` as ``…exe.png``) or control
characters. The schema does not change. The cleaning is written out here rather than imported,
so that this revision means the same whatever the service code becomes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SUSPECT = sorted(_BIDI) + [chr(c) for c in (*range(0x01, 0x20), *range(0x7F, 0xA0))]


def _clean(name: str) -> str:
    cleaned = _CONTROL.sub("_", "".join(c for c in name if c not in _BIDI)).strip()
    return cleaned[:255] or "upload"


def upgrade() -> None:
    bind = op.get_bind()
    for table_name in ("media_files", "media_uploads"):
        table = sa.table(table_name, sa.column("id", sa.Uuid()), sa.column("filename", sa.String))
        # Only the rows that need it (PostgreSQL text cannot hold NUL: no pattern for it).
        suspect = sa.or_(*(table.c.filename.contains(char) for char in _SUSPECT))
        rows = bind.execute(sa.select(table.c.id, table.c.filename).where(suspect)).all()
        for row_id, filename in rows:
            cleaned = _clean(filename or "")
            if cleaned != filename:
                bind.execute(sa.update(table).where(table.c.id == row_id).values(filename=cleaned))


def downgrade() -> None:
    # The characters removed were never meant to be there: nothing to restore.
    pass
