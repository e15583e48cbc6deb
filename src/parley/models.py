"""Every service's tables, imported so Alembic sees one metadata."""

from parley.users import models as users_models

__all__ = ["users_models"]
