"""Dependency aliases every service's routes share, declared once.

``Annotated[X, Depends(f)]`` aliases keep route signatures short; declared per router they drift
(two spellings of the same session dependency, one forgotten ``Depends``). Service-specific
aliases (a meeting's access level, media's runtime) stay in the service's ``dependencies.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from parley.config import Settings
from parley.core.auth import (
    Principal,
    TokenSigner,
    admin_principal,
    current_principal,
    get_revocations,
    get_signer,
)
from parley.core.db import get_session
from parley.core.kv import get_kv
from parley.core.requests import get_settings
from parley.core.revocation import RevocationList

SessionDep = Annotated[AsyncSession, Depends(get_session)]
KvDep = Annotated[Redis, Depends(get_kv)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(admin_principal)]
SignerDep = Annotated[TokenSigner, Depends(get_signer)]
RevocationsDep = Annotated[RevocationList, Depends(get_revocations)]
