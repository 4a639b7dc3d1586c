"""HTTP routes of the recommendations service: thin handlers over `service`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from services.platform.auth import AdminUser, CurrentUser, OptionalUser
from services.platform.errors import Forbidden, Unavailable
from services.recommendations.schemas import (
    CartRecommendationRequest,
    GrantSummary,
    OfferList,
    OfferRuleCreate,
    OfferRuleList,
    OfferRulePublic,
    OfferRuleUpdate,
    ProductId,
    PublicationStatus,
    RecommendationList,
)
from services.recommendations.service import Offers, Recommendations
from warehouse.reader import NoSnapshotError


def get_recommendations(request: Request) -> Recommendations:
    return request.app.state.recommendations


def get_offers(request: Request) -> Offers:
    return request.app.state.offers


def get_limit(request: Request, limit: Annotated[int | None, Query(ge=1, le=50)] = None) -> int:
    return limit or request.app.state.settings.default_limit


RecommendationsDep = Annotated[Recommendations, Depends(get_recommendations)]
OffersDep = Annotated[Offers, Depends(get_offers)]
Limit = Annotated[int, Depends(get_limit)]

router = APIRouter(prefix="/api/recommendations", tags=["recommendations"])


@router.get("/me", response_model=RecommendationList)
def for_me(user: CurrentUser, reco: RecommendationsDep, limit: Limit) -> RecommendationList:
    """The signed-in shopper's shelf (popular items until the model knows them)."""
    return reco.for_user(user.user_id, limit)


@router.get("/users/{user_id}", response_model=RecommendationList)
def for_user(user_id: ProductId, user: CurrentUser, reco: RecommendationsDep,
             limit: Limit) -> RecommendationList:
    """A shopper's shelf: their own, or anyone's for admins (it reveals what they bought)."""
    if user_id != user.user_id and not user.is_admin:
        raise Forbidden("You may only read your own recommendations.")
    return reco.for_user(user_id, limit)


@router.get("/popular", response_model=RecommendationList)
def popular(
    reco: RecommendationsDep,
    limit: Limit,
    category: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> RecommendationList:
    return reco.popular(limit, category)


@router.get("/items/{product_id}/similar", response_model=RecommendationList)
def similar(product_id: ProductId, user: OptionalUser, reco: RecommendationsDep,
            limit: Limit) -> RecommendationList:
    """Items like this one (for a signed-in shopper, without what they already bought)."""
    return reco.for_item(product_id, "similar", limit, user.user_id if user else None)


@router.get("/items/{product_id}/bought-together", response_model=RecommendationList)
def bought_together(product_id: ProductId, user: OptionalUser, reco: RecommendationsDep,
                    limit: Limit) -> RecommendationList:
    """Items often in the same order as this one (empty when it was never bought with others)."""
    return reco.for_item(product_id, "fbt", limit, user.user_id if user else None)


@router.post("/cart", response_model=RecommendationList)
def for_cart(body: CartRecommendationRequest, request: Request, user: OptionalUser,
             reco: RecommendationsDep) -> RecommendationList:
    """"Recommended for your cart": neighbours of the cart's items, not already in it."""
    limit = body.limit or request.app.state.settings.default_limit
    return reco.for_cart(body.product_ids, limit, user.user_id if user else None)


@router.get("/status", response_model=PublicationStatus)
def publication_status(admin: AdminUser, reco: RecommendationsDep) -> PublicationStatus:
    """The publication in service: model version, counts, out-of-stock items."""
    return reco.status()


@router.get("/me/offers", response_model=OfferList)
def my_offers(user: CurrentUser, offers: OffersDep) -> OfferList:
    """The signed-in shopper's valid personal offers (the cart applies them)."""
    items = offers.offers_for(user.user_id)
    return OfferList(items=items, total=len(items))


@router.get("/offer-rules", response_model=OfferRuleList)
def list_rules(admin: AdminUser, offers: OffersDep) -> OfferRuleList:
    items = offers.rules()
    return OfferRuleList(items=items, total=len(items))


@router.post("/offer-rules", status_code=status.HTTP_201_CREATED, response_model=OfferRulePublic)
def create_rule(body: OfferRuleCreate, admin: AdminUser, offers: OffersDep) -> OfferRulePublic:
    """A rule: customers of `segment` get this offer, tagged with `campaign_id`."""
    return offers.create_rule(body)


@router.post("/offer-rules/grant", response_model=GrantSummary)
def grant(request: Request, admin: AdminUser, offers: OffersDep) -> GrantSummary:
    """Grant offers now from the RFM segments of the published warehouse (the nightly Dagster
    run does the same)."""
    reader = request.app.state.reader
    try:
        rows = reader.cursor().sql("SELECT user_id, segment FROM marts.rfm_segments").fetchall()
    except NoSnapshotError as exc:
        raise Unavailable("The warehouse has not been built yet.", slug="warehouse-not-built") from exc
    return offers.grant(rows, snapshot=reader.snapshot)


@router.get("/offer-rules/{rule_id}", response_model=OfferRulePublic)
def read_rule(rule_id: ProductId, admin: AdminUser, offers: OffersDep) -> OfferRulePublic:
    return offers.rule(rule_id)


@router.patch("/offer-rules/{rule_id}", response_model=OfferRulePublic)
def update_rule(rule_id: ProductId, body: OfferRuleUpdate, admin: AdminUser,
                offers: OffersDep) -> OfferRulePublic:
    return offers.update_rule(rule_id, body)


@router.delete("/offer-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_rule(rule_id: ProductId, admin: AdminUser, offers: OffersDep) -> None:
    """Stops future grants; offers already granted stay valid until they expire."""
    offers.delete_rule(rule_id)
