"""Password hashing (argon2id) and the password policy.

Hashing is CPU-bound (tens of milliseconds by design), so callers run it in a worker thread and
never on the event loop.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.concurrency import run_in_threadpool

_hasher = PasswordHasher()
# Verified when the user does not exist, so that a wrong username costs the same time as a
# wrong password and the two cannot be told apart.
_DUMMY_HASH = _hasher.hash("parley-dummy-password-for-timing")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = (Path(__file__).parent / "common_passwords.txt").read_text()
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def policy_violation(password: str, *, username: str = "", email: str = "") -> str | None:
    """Why this password may not be used, or ``None``."""
    lowered = password.lower()
    if len(password) < 8:
        return "The password must have at least 8 characters."
    if lowered in common_passwords():
        return "This password is too common; choose another."
    if username and lowered == username.lower():
        return "The password must not be the username."
    if email and lowered == email.lower():
        return "The password must not be the email address."
    return None


async def hash_password(password: str) -> str:
    return await run_in_threadpool(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Always does the full argon2 work, also for a missing user (``password_hash=None``)."""
    return await run_in_threadpool(_verify, password_hash, password)
