"""Every problem user-service answers with, declared once (like LiveKit's
``pkg/service/errors.go``): the ``type`` a client branches on lives here and only here, so a
type string cannot drift between the places that raise it, and this file is the list of what
the web client needs plain words for."""

from __future__ import annotations

from parley.core.errors import ProblemError

INVALID_CREDENTIALS = "Invalid username or password."

# ---- signing in and staying signed in --------------------------------------------------------


def invalid_credentials() -> ProblemError:
    """401, the same for an unknown user, a wrong password and a disabled account: the answer
    tells nothing about an account to someone without its password."""
    return ProblemError(401, INVALID_CREDENTIALS, type="invalid-credentials")


def login_rate_limited(retry_after_s: int) -> ProblemError:
    return ProblemError(
        429,
        "Too many failed sign-in attempts; try again later.",
        type="login-rate-limited",
        headers={"Retry-After": str(max(retry_after_s, 1))},
    )


def invalid_refresh_token(detail: str = "The refresh token is not valid.") -> ProblemError:
    """401: no refresh token, an unknown, expired or reused one (the detail says which)."""
    return ProblemError(401, detail, type="invalid-refresh-token")


def account_gone() -> ProblemError:
    """401 for a valid token whose account was deleted since: the token no longer stands for
    anyone."""
    return ProblemError(401, "The account no longer exists.", type="invalid-token")


def nothing_to_sign_out() -> ProblemError:
    return ProblemError(401, "Nothing to sign out: no token given.", type="invalid-token")


def account_disabled() -> ProblemError:
    return ProblemError(403, "This account has been disabled.", type="account-disabled")


def csrf_failed() -> ProblemError:
    return ProblemError(
        403,
        "A cookie-authenticated request needs the X-CSRF-Token header "
        "(GET /api/v1/auth/csrf-token).",
        type="csrf-failed",
    )


# ---- accounts ----------------------------------------------------------------------------


def weak_password(detail: str) -> ProblemError:
    """422 with the password policy's reason (too short, too common, like the username…)."""
    return ProblemError(422, detail, type="weak-password")


def wrong_current_password() -> ProblemError:
    """403 on a password change: a type of its own, not the meeting gate's ``wrong-password``
    (a client words a type once, and "the meeting password" is not this one)."""
    return ProblemError(403, "The current password is wrong.", type="wrong-current-password")


def account_taken() -> ProblemError:
    """One answer whichever field collides: registration must not tell a stranger whether an
    email address has an account here."""
    return ProblemError(
        409,
        "This username or email address cannot be used; choose another or sign in.",
        type="account-taken",
    )


def email_taken() -> ProblemError:
    """For the signed-in user changing their own address (they know which field they sent)."""
    return ProblemError(409, "This email is already registered.", type="email-taken")


# ---- administration --------------------------------------------------------------------------


def admin_required() -> ProblemError:
    return ProblemError(403, "This needs the admin role.", type="admin-required")


def user_not_found() -> ProblemError:
    return ProblemError(404, "No such user.", type="user-not-found")


def last_admin() -> ProblemError:
    return ProblemError(
        409, "The last active admin cannot be demoted, disabled or deleted.", type="last-admin"
    )


# ---- avatars ---------------------------------------------------------------------------------


def unsupported_image(detail: str) -> ProblemError:
    return ProblemError(415, detail, type="unsupported-image")


def image_too_large(limit: int) -> ProblemError:
    return ProblemError(413, f"The image must be at most {limit} bytes.", type="too-large")


def file_field_required() -> ProblemError:
    return ProblemError(422, "The multipart body needs a `file` field.", type="validation")


def avatar_not_found() -> ProblemError:
    return ProblemError(404, "This user has no avatar.", type="avatar-not-found")
