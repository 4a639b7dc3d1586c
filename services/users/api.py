"""HTTP routes of the users service: thin handlers over `service.Accounts`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from services.platform.auth import AdminUser, CurrentUser
from services.platform.client_ip import client_ip
from services.platform.errors import Forbidden
from services.users.schemas import (
    AddressCreate,
    AddressList,
    AddressPublic,
    AddressUpdate,
    EmailVerification,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    RolesUpdate,
    TokenPair,
    UserList,
    UserPublic,
    UserRegister,
    UserUpdate,
)
from services.users.service import Accounts
from services.users.store import User


def get_accounts(request: Request) -> Accounts:
    return request.app.state.accounts


AccountsDep = Annotated[Accounts, Depends(get_accounts)]

router = APIRouter(prefix="/api/users", tags=["users"])
wellknown = APIRouter(tags=["users"])


def to_public(user: User) -> UserPublic:
    return UserPublic.model_validate(
        {**{k: getattr(user, k) for k in UserPublic.model_fields if k != "email_verified"},
         "email_verified": user.email_verified_at is not None}
    )


@wellknown.get("/.well-known/jwks.json")
def jwks(request: Request) -> dict[str, Any]:
    """Public keys that verify access tokens (all non-retired keys, newest first)."""
    return request.app.state.keyring.jwks()


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
def register(body: UserRegister, accounts: AccountsDep) -> UserPublic:
    """Create a customer account; a verification email is requested at once."""
    return to_public(accounts.register(body))


@router.post("/token", response_model=TokenPair)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, accounts: AccountsDep
) -> TokenPair:
    """OAuth2 password flow: `username` is the email."""
    settings = request.app.state.settings
    ip = client_ip(request.client.host if request.client else None,
                   request.headers.get("x-forwarded-for"), tuple(settings.trusted_proxies))
    return accounts.login(email=form.username, password=form.password, ip=ip)


@router.post("/token/refresh", response_model=TokenPair)
def refresh(body: RefreshRequest, accounts: AccountsDep) -> TokenPair:
    return accounts.refresh(body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(body: RefreshRequest, user: CurrentUser, accounts: AccountsDep) -> None:
    """Revoke the session (the refresh token's family)."""
    accounts.logout(body.refresh_token, user.user_id)


@router.post("/verify-email", response_model=UserPublic)
def verify_email(body: EmailVerification, accounts: AccountsDep) -> UserPublic:
    return to_public(accounts.verify_email(body.token))


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED)
def request_password_reset(body: PasswordResetRequest, accounts: AccountsDep) -> dict[str, str]:
    accounts.request_password_reset(str(body.email))
    return {"detail": "If the address has an account, a reset link is on its way."}


@router.post("/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT)
def confirm_password_reset(body: PasswordResetConfirm, accounts: AccountsDep) -> None:
    accounts.reset_password(body.token, body.new_password)


@router.get("/me", response_model=UserPublic)
def read_me(user: CurrentUser, accounts: AccountsDep) -> UserPublic:
    return to_public(accounts.get_user(user.user_id))


@router.patch("/me", response_model=UserPublic)
def update_me(body: UserUpdate, user: CurrentUser, accounts: AccountsDep) -> UserPublic:
    return to_public(accounts.update_profile(user.user_id, body))


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(body: PasswordChange, user: CurrentUser, accounts: AccountsDep) -> None:
    """Changing the password signs out every session."""
    accounts.change_password(user.user_id, current=body.current_password, new=body.new_password)


@router.post("/me/verify-email", status_code=status.HTTP_202_ACCEPTED)
def resend_verification(user: CurrentUser, accounts: AccountsDep) -> dict[str, str]:
    accounts.request_email_verification(user.user_id)
    return {"detail": "A verification link is on its way."}


@router.get("/me/addresses", response_model=AddressList)
def list_addresses(user: CurrentUser, accounts: AccountsDep) -> AddressList:
    items = [AddressPublic.model_validate(a) for a in accounts.addresses(user.user_id)]
    return AddressList(items=items, total=len(items))


@router.post("/me/addresses", status_code=status.HTTP_201_CREATED, response_model=AddressPublic)
def add_address(body: AddressCreate, user: CurrentUser, accounts: AccountsDep) -> AddressPublic:
    """The first address becomes the default one."""
    return AddressPublic.model_validate(accounts.add_address(user.user_id, body))


@router.get("/me/addresses/{address_id}", response_model=AddressPublic)
def read_address(address_id: str, user: CurrentUser, accounts: AccountsDep) -> AddressPublic:
    return AddressPublic.model_validate(accounts.address(user.user_id, address_id))


@router.patch("/me/addresses/{address_id}", response_model=AddressPublic)
def update_address(
    address_id: str, body: AddressUpdate, user: CurrentUser, accounts: AccountsDep
) -> AddressPublic:
    return AddressPublic.model_validate(accounts.update_address(user.user_id, address_id, body))


@router.delete("/me/addresses/{address_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_address(address_id: str, user: CurrentUser, accounts: AccountsDep) -> None:
    accounts.delete_address(user.user_id, address_id)


@router.get("", response_model=UserList)
def list_all_users(
    admin: AdminUser,
    accounts: AccountsDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> UserList:
    users, total = accounts.list_users(offset=offset, limit=limit)
    return UserList(items=[to_public(u) for u in users], total=total)


@router.get("/{user_id}", response_model=UserPublic)
def read_user(user_id: str, user: CurrentUser, accounts: AccountsDep) -> UserPublic:
    """A user may read only their own profile; admins may read any."""
    if user_id != user.user_id and not user.is_admin:
        raise Forbidden("You may only read your own profile.")
    return to_public(accounts.get_user(user_id))


@router.put("/{user_id}/roles", response_model=UserPublic)
def set_roles(user_id: str, body: RolesUpdate, admin: AdminUser, accounts: AccountsDep) -> UserPublic:
    return to_public(accounts.set_roles(user_id, body.roles))
