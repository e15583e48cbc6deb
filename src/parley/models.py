"""Every service's tables, imported so Alembic sees one metadata."""

from parley.ai import models as ai_models
from parley.media import models as media_models
from parley.meetings import models as meetings_models
from parley.signaling import models as signaling_models
from parley.users import models as users_models

__all__ = ["ai_models", "media_models", "meetings_models", "signaling_models", "users_models"]
