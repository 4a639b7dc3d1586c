"""Request and response models of the users service (one family per entity)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from services.platform.utc import UtcDatetime

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()-]{6,20}$")]
Locale = Annotated[str, StringConstraints(pattern=r"^(en|ru)$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Token = Annotated[str, StringConstraints(min_length=16, max_length=256)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
City = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Region = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Postcode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9 -]{2,12}$")]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class Input(BaseModel):
    """Request bodies refuse unknown fields: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class UserRegister(Input):
    email: EmailStr
    password: Password
    full_name: Name | None = None
    locale: Locale = "en"
    marketing_opt_in: bool = False


class UserUpdate(Input):
    full_name: Name | None = None
    phone: Phone | None = None
    locale: Locale | None = None
    marketing_opt_in: bool | None = None




class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    email: str
    full_name: str | None
    phone: str | None
    locale: str
    marketing_opt_in: bool
    roles: list[str]
    email_verified: bool
    created_at: UtcDatetime


class UserList(BaseModel):
    items: list[UserPublic]
    total: int


class RolesUpdate(Input):
    roles: list[Annotated[str, StringConstraints(pattern=r"^(customer|admin)$")]] = Field(
        min_length=1
    )


class TokenPair(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str


class RefreshRequest(Input):
    refresh_token: Token


class PasswordChange(Input):
    current_password: Password
    new_password: Password


class EmailVerification(Input):
    token: Token


class PasswordResetRequest(Input):
    email: EmailStr


class PasswordResetConfirm(Input):
    token: Token
    new_password: Password


class AddressCreate(Input):
    label: Label | None = None
    recipient: Name
    line1: Name
    line2: Line | None = None
    city: City
    region: Region | None = None
    postcode: Postcode
    country: Country = Field(description="ISO 3166-1 alpha-2 code")
    phone: Phone | None = None
    is_default: bool = False


class AddressUpdate(Input):
    label: Label | None = None
    recipient: Name | None = None
    line1: Name | None = None
    line2: Line | None = None
    city: City | None = None
    region: Region | None = None
    postcode: Postcode | None = None
    country: Country | None = None
    phone: Phone | None = None
    is_default: bool | None = None


class AddressPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    label: str | None
    recipient: str
    line1: str
    line2: str | None
    city: str
    region: str | None
    postcode: str
    country: str
    phone: str | None
    is_default: bool


class AddressList(BaseModel):
    items: list[AddressPublic]
    total: int


class Message(BaseModel):
    detail: str
