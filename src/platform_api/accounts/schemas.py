"""Accounts: sign-up and the caller's own account."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["admin", "member"]
# A plain pattern instead of EmailStr: the schema then states exactly what the server accepts
# (email-validator also refuses reserved domains such as `.local`, which a schema cannot express).
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63}){1,8}$"
Email = Annotated[str, Field(max_length=320, pattern=EMAIL_PATTERN)]


class UserRegister(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    name: str = Field(min_length=1, max_length=200)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str
    role: Role
    disabled: bool
    created_at: datetime


class UserWithKey(BaseModel):
    user: UserRead
    api_key: str
