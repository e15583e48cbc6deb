"""Secret hashing with argon2id (passwords, meeting passwords).

Hashing is CPU-bound (tens of milliseconds by design), so it runs in a worker thread, never on
the event loop.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.concurrency import run_in_threadpool

_hasher = PasswordHasher()
# Verified when there is no stored hash, so that "no such account" costs the same time as
# "wrong password" and the two cannot be told apart.
_DUMMY_HASH = _hasher.hash("parley-dummy-password-for-timing")


async def hash_secret(secret: str) -> str:
    return await run_in_threadpool(_hasher.hash, secret)


def _verify(secret_hash: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash or _DUMMY_HASH, secret) and secret_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_secret(secret_hash: str | None, secret: str) -> bool:
    """Always does the full argon2 work, also when there is no hash (``None``)."""
    return await run_in_threadpool(_verify, secret_hash, secret)
