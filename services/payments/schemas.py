"""Request and response models of the payments service (one family per entity)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.platform.utc import UtcDatetime

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
CardToken = Annotated[str, StringConstraints(pattern=r"^card_[0-9a-f]{32}$")]
Amount = Annotated[int, Field(ge=1, le=100_000_000_00)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]




class Input(BaseModel):
    """Request bodies refuse unknown fields: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class CardCreate(Input):
    """What the shopper types. It is checked, turned into a token and forgotten."""

    number: Annotated[str, StringConstraints(pattern=r"^[0-9 -]{12,23}$")]
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2100)
    cvc: Annotated[str, StringConstraints(pattern=r"^[0-9]{3,4}$")]
    holder: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None

    def __repr__(self) -> str:  # never print the number or the code, even in a traceback
        return f"CardCreate(last4={self.number[-4:]!r})"

    __str__ = __repr__


class CardPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class CardList(BaseModel):
    items: list[CardPublic]
    total: int


class PaymentCreate(Input):
    order_id: OrderId | None = None
    amount_minor: Amount
    currency: Currency
    method: Literal["card", "wallet", "crypto"]
    card_token: CardToken | None = None
    capture: bool = Field(True, description="Capture at once (false: authorise only)")
    user_id: UserId | None = Field(None, description="Pay on behalf of this user (admins and "
                                                     "the orders service only)")


class PaymentConfirm(Input):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class CaptureCreate(Input):
    amount_minor: Amount | None = None


class RefundCreate(Input):
    amount_minor: Amount | None = Field(None, description="Default: all that is left")
    reason: Reason | None = None


class RefundPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    amount_minor: int
    reason: str | None
    created_at: UtcDatetime


class Invoice(BaseModel):
    address: str
    amount_minor: int
    currency: str
    expires_at: UtcDatetime
    confirmations: int
    confirmations_required: int


class PaymentPublic(BaseModel):
    id: str
    user_id: str
    order_id: str | None
    method: str
    status: str
    currency: str
    amount_minor: int
    authorized_minor: int
    captured_minor: int
    refunded_minor: int
    card_brand: str | None = None
    card_last4: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    next_action: str | None = None
    invoice: Invoice | None = None
    refunds: list[RefundPublic] = []
    created_at: UtcDatetime
    updated_at: UtcDatetime


class PaymentList(BaseModel):
    items: list[PaymentPublic]
    total: int


class WalletPublic(BaseModel):
    currency: str
    balance_minor: int
    held_minor: int


class TopUpCreate(Input):
    amount_minor: Amount
    currency: Currency
    card_token: CardToken


class ChainConfirmation(Input):
    """What the (simulated) chain watcher reports about a payment to an invoice address."""

    event_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    address: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    amount_minor: int = Field(ge=0)
    confirmations: int = Field(ge=0, le=1000)


class LedgerBalance(BaseModel):
    balanced: bool
    accounts: dict[str, dict[str, int]]
