"""user-service request and response bodies (the API contract).

Everything people type is :data:`~parley.core.text.SingleLineText`: NUL and other control
characters are refused with 422 here (PostgreSQL cannot store NUL, and such names disguise
what others read)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)

from parley.core.text import SingleLineText, refuse_control_characters

Username = Annotated[
    SingleLineText,
    StringConstraints(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$", to_lower=True),
]
DisplayName = Annotated[
    SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]
Password = Annotated[SingleLineText, Field(min_length=8, max_length=1024)]
Email = Annotated[EmailStr, AfterValidator(refuse_control_characters)]
Role = Literal["admin", "user"]


class StrictBody(BaseModel):
    """Request bodies reject unknown fields: a typo is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class RegisterIn(StrictBody):
    username: Username
    email: Email
    password: Password
    display_name: DisplayName


class LoginIn(StrictBody):
    username: Annotated[
        SingleLineText, Field(min_length=1, max_length=254, description="username or email")
    ]
    password: Annotated[SingleLineText, Field(min_length=1, max_length=1024)]


class RefreshIn(StrictBody):
    refresh_token: str | None = Field(
        default=None, max_length=200, description="omit to use the refresh cookie"
    )

    @field_validator("refresh_token")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return None if value is None else refuse_control_characters(value)


class LogoutIn(RefreshIn):
    pass


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    email: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime
    has_avatar: bool = False


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int
    user: UserOut


class CsrfOut(BaseModel):
    csrf_token: str


class ProfileUpdateIn(StrictBody):
    display_name: DisplayName | None = None
    email: Email | None = None


class PasswordChangeIn(StrictBody):
    current_password: Annotated[SingleLineText, Field(min_length=1, max_length=1024)]
    new_password: Password


class AdminUserUpdateIn(StrictBody):
    role: Role | None = None
    is_active: bool | None = None
    display_name: DisplayName | None = None


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    page: int
    page_size: int
