"""HTTP routes of the notifications service: thin handlers over `service.Centre`."""

from __future__ import annotations

import uuid
from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from services.notifications.domain import TRANSACTIONAL, Category, Preferences
from services.notifications.schemas import (
    CampaignCreate,
    CampaignQueued,
    MailList,
    MailPublic,
    NotificationList,
    NotificationPublic,
    PreferencesPublic,
    PreferencesUpdate,
    ReadAll,
    SmsList,
    SmsPublic,
    Unsubscribed,
)
from services.notifications.service import Centre
from services.notifications.sink import read_mailbox
from services.notifications.store import Notification, dev_sms
from services.platform.auth import AdminUser, CurrentUser, admin_user, current_user
from services.platform.errors import NotFound


def get_centre(request: Request) -> Centre:
    return request.app.state.centre


def dev_access(request: Request) -> None:
    """The dev mailbox and SMS outbox: open in development, admins only elsewhere."""
    if request.app.state.settings.env != "development":
        admin_user(current_user(request))


CentreDep = Annotated[Centre, Depends(get_centre)]
DevAccess = Annotated[None, Depends(dev_access)]
Token = Annotated[str, Query(min_length=10, max_length=500)]

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


def to_public(note: Notification) -> NotificationPublic:
    public = NotificationPublic.model_validate(note)
    return public.model_copy(update={"read": note.read_at is not None})


def prefs_public(prefs: Preferences, phone: str | None) -> PreferencesPublic:
    categories = {c.value: True for c in TRANSACTIONAL} | prefs.categories
    categories[Category.MARKETING.value] = prefs.marketing_opt_in
    return PreferencesPublic(email=prefs.email, sms=prefs.sms, push=prefs.push, phone=phone,
                             categories=categories, marketing_opt_in=prefs.marketing_opt_in,
                             quiet_start=prefs.quiet_start, quiet_end=prefs.quiet_end,
                             timezone=prefs.timezone)


@router.get("", response_model=NotificationList)
def list_notifications(
    user: CurrentUser, centre: CentreDep, unread: bool = False,
    offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> NotificationList:
    """The notification centre: newest first, with the unread count for the badge."""
    items, total, unread_count = centre.history(user.user_id, unread_only=unread, offset=offset,
                                                limit=limit)
    return NotificationList(items=[to_public(n) for n in items], total=total, unread=unread_count)


@router.post("/read-all", response_model=ReadAll)
def read_all(user: CurrentUser, centre: CentreDep) -> ReadAll:
    return ReadAll(updated=centre.mark_all_read(user.user_id))


@router.post("/{notification_id}/read", status_code=status.HTTP_204_NO_CONTENT)
def read_one(notification_id: str, user: CurrentUser, centre: CentreDep) -> None:
    centre.mark_read(user.user_id, notification_id)


@router.get("/preferences", response_model=PreferencesPublic)
def read_preferences(user: CurrentUser, centre: CentreDep) -> PreferencesPublic:
    return prefs_public(*centre.preferences(user.user_id))


@router.patch("/preferences", response_model=PreferencesPublic)
def update_preferences(body: PreferencesUpdate, user: CurrentUser, centre: CentreDep) -> PreferencesPublic:
    """Transactional categories (account, orders) cannot be switched off."""
    return prefs_public(*centre.update_preferences(user.user_id, body))


@router.get("/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(token: Token) -> HTMLResponse:
    """Following the link only shows a confirmation button: link scanners in mail systems open
    every link, and must not unsubscribe anyone (RFC 8058)."""
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>Unsubscribe</title>"
        f"<form method=post action='?token={escape(token, quote=True)}'>"
        "<p>Stop receiving these emails?</p><button type=submit>Unsubscribe</button></form>")


@router.post("/unsubscribe", response_model=Unsubscribed)
def unsubscribe(token: Token, centre: CentreDep) -> Unsubscribed:
    """One-click unsubscribe (also what mail clients POST for `List-Unsubscribe-Post`)."""
    _, category = centre.unsubscribe(token)
    return Unsubscribed(category=category, detail=f"You will no longer receive {category} messages.")


@router.post("/campaigns", status_code=status.HTTP_202_ACCEPTED, response_model=CampaignQueued)
def send_campaign(body: CampaignCreate, admin: AdminUser, centre: CentreDep) -> CampaignQueued:
    """Queue a marketing message to opted-in shoppers (a campaign or personal offers)."""
    campaign_id = body.campaign_id or str(uuid.uuid4())
    queued, skipped = centre.campaign(template=body.template, params=body.params,
                                      user_ids=body.user_ids, campaign_id=campaign_id)
    return CampaignQueued(campaign_id=campaign_id, queued=queued, skipped=skipped)


@router.get("/dev/mailbox", response_model=MailList)
async def dev_mailbox(
    request: Request, _: DevAccess, to: Annotated[str | None, Query(max_length=320)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MailList:
    """Mail caught by the embedded SMTP sink (absent when a real `SMTP_URL` is used)."""
    settings = request.app.state.settings
    if not settings.embedded_smtp:
        raise NotFound("The dev mailbox exists only with the embedded SMTP sink.")
    mails, total = await run_in_threadpool(read_mailbox, settings.mailbox_dir, to=to, limit=limit)
    items = [MailPublic(id=m.id, sender=m.sender, to=m.to, subject=m.subject, date=m.date,
                        text=m.text, html=m.html, links=m.links) for m in mails]
    return MailList(items=items, total=total)


@router.get("/dev/sms", response_model=SmsList)
def dev_sms_outbox(request: Request, _: DevAccess,
                   limit: Annotated[int, Query(ge=1, le=200)] = 50) -> SmsList:
    """Messages the embedded SMS provider recorded instead of sending."""
    with request.app.state.db.read() as session:
        items = [SmsPublic.model_validate(s) for s in dev_sms(session, limit)]
    return SmsList(items=items, total=len(items))
