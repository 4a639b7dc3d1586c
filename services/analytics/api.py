"""HTTP routes of the analytics service: the public event intake and the admins' reports."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response

from services.analytics.schemas import BatchAccepted, EventBatch, Format, Grain, Report
from services.analytics.service import Intake, Reports
from services.analytics.store import Filters
from services.platform.auth import AdminUser, OptionalUser


def get_intake(request: Request) -> Intake:
    return request.app.state.intake


def get_reports(request: Request) -> Reports:
    return request.app.state.reports


IntakeDep = Annotated[Intake, Depends(get_intake)]
ReportsDep = Annotated[Reports, Depends(get_reports)]

router = APIRouter(prefix="/api/analytics", tags=["analytics"])


@router.post("/events", status_code=status.HTTP_202_ACCEPTED, response_model=BatchAccepted)
def collect(batch: EventBatch, user: OptionalUser, intake: IntakeDep) -> BatchAccepted:
    """Behaviour events from the storefront; a signed-in shopper's events carry their id."""
    accepted = intake.accept(batch.events, user_id=user.user_id if user else None)
    return BatchAccepted(accepted=accepted)


@router.get("/reports/{name}", response_model=Report, responses={200: {"content": {"text/csv": {}}}})
def report(
    name: str,
    admin: AdminUser,
    reports: ReportsDep,
    start: date | None = None,
    end: date | None = None,
    category: Annotated[str | None, Query(max_length=200)] = None,
    grain: Grain = "day",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    format: Format = "json",
) -> Report | Response:
    """Reports over the marts; `format=csv` downloads the same rows."""
    frame = reports.frame(name, Filters(start=start, end=end, category=category, grain=grain,
                                        limit=limit))
    if format == "csv":
        return Response(reports.to_csv(frame), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Report(report=name, columns=frame.columns, items=frame.to_dicts(), total=frame.height,
                  snapshot=reports.reader.snapshot)
