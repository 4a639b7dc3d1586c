"""Events the users service publishes (it consumes none).

Verification and reset events carry the raw single-use token because the notifications service
must put it in a link; only its hash is stored here, and the lake writer drops `token` fields.
"""

from __future__ import annotations

from datetime import datetime

from services.platform.events import EventData, register

SOURCE = "users"


@register
class UserRegistered(EventData):
    event_type = "user.registered"
    user_id: str
    email: str
    full_name: str | None = None
    locale: str = "en"
    marketing_opt_in: bool = False


@register
class EmailVerificationRequested(EventData):
    event_type = "user.email_verification_requested"
    user_id: str
    email: str
    token: str
    expires_at: datetime
    locale: str = "en"


@register
class EmailVerified(EventData):
    event_type = "user.email_verified"
    user_id: str
    email: str


@register
class PasswordResetRequested(EventData):
    event_type = "user.password_reset_requested"
    user_id: str
    email: str
    token: str
    expires_at: datetime
    locale: str = "en"


@register
class PasswordChanged(EventData):
    event_type = "user.password_changed"
    user_id: str
    via: str  # "change" (knew the old one) or "reset" (single-use token)


@register
class ProfileUpdated(EventData):
    event_type = "user.profile_updated"
    user_id: str
    fields: list[str]
