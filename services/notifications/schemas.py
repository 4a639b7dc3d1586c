"""Request and response models of the notifications service (one family per entity)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.platform.utc import UtcDatetime

Clock = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=32)]




class Input(BaseModel):
    """Request bodies refuse unknown fields: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class NotificationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    template: str
    category: str
    title: str
    body: str
    link: str | None
    created_at: UtcDatetime
    read_at: UtcDatetime | None
    read: bool = False


class NotificationList(BaseModel):
    items: list[NotificationPublic]
    total: int
    unread: int


class ReadAll(BaseModel):
    updated: int


class PreferencesPublic(BaseModel):
    email: bool
    sms: bool
    push: bool
    phone: str | None
    categories: dict[str, bool] = Field(
        description="Every category; transactional ones (account, orders) are always true")
    marketing_opt_in: bool
    quiet_start: str | None
    quiet_end: str | None
    timezone: str


class PreferencesUpdate(Input):
    email: bool | None = Field(None, description="Optional messages by email (transactional "
                                                 "ones are always emailed)")
    sms: bool | None = None
    push: bool | None = None
    phone: Phone | None = Field(None, description="International format, e.g. +44 20 7946 0958")
    categories: dict[str, bool] | None = None
    marketing_opt_in: bool | None = None
    quiet_start: Clock | None = Field(None, description="Start of SMS quiet hours, HH:MM local")
    quiet_end: Clock | None = None
    timezone: str | None = Field(None, max_length=64, description="IANA zone, e.g. Europe/Moscow")


class Unsubscribed(BaseModel):
    category: str
    detail: str


class CampaignCreate(Input):
    template: str = Field(max_length=50)
    params: dict[str, Any] = Field(default_factory=dict)
    user_ids: list[str] | None = Field(None, max_length=10_000,
                                       description="Only these users (still only if opted in)")
    campaign_id: str | None = Field(None, max_length=36,
                                    description="Sending the same campaign id twice is refused")


class CampaignQueued(BaseModel):
    campaign_id: str
    queued: int
    skipped: int


class MailPublic(BaseModel):
    id: str
    sender: str
    to: str
    subject: str
    date: str | None
    text: str
    html: str | None
    links: list[str]


class MailList(BaseModel):
    items: list[MailPublic]
    total: int


class SmsPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    to: str
    body: str
    created_at: UtcDatetime


class SmsList(BaseModel):
    items: list[SmsPublic]
    total: int
