"""The password policy and argon2id hashing."""

from __future__ import annotations

from parley.users import passwords


def test_common_passwords_are_refused_case_insensitively() -> None:
    assert passwords.policy_violation("PassWord123") is not None
    assert passwords.policy_violation("qwertyuiop") is not None


def test_short_passwords_are_refused() -> None:
    assert "8 characters" in (passwords.policy_violation("a1b2c3") or "")


def test_password_equal_to_username_is_refused() -> None:
    assert passwords.policy_violation("marvin-the-android", username="Marvin-The-Android")


def test_a_good_password_passes() -> None:
    assert passwords.policy_violation("tangerine-Sky-42", username="bob") is None


async def test_hash_is_argon2id_and_verifies() -> None:
    hashed = await passwords.hash_password("tangerine-Sky-42")
    assert hashed.startswith("$argon2id$")
    assert await passwords.verify_password(hashed, "tangerine-Sky-42")
    assert not await passwords.verify_password(hashed, "tangerine-Sky-43")


async def test_missing_user_never_verifies() -> None:
    assert not await passwords.verify_password(None, "parley-dummy-password-for-timing")
