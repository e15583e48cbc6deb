"""Account passwords: the policy, and hashing through :mod:`parley.core.hashing`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from parley.core.hashing import hash_secret, verify_secret


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
    return await hash_secret(password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Always does the full argon2 work, also for a missing user (``password_hash=None``)."""
    return await verify_secret(password_hash, password)
