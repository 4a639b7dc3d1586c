"""Use cases of reviews: one per user per product, helpful votes, moderation.

The product's rating is recomputed from the visible reviews in the same transaction as every
review change (and the product row is locked meanwhile), so the aggregate can never drift from
the reviews, whatever the concurrency.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.catalog import domain, events
from services.catalog.schemas import ReviewCreate, ReviewUpdate
from services.catalog.store import (
    Product,
    Review,
    ReviewVote,
    has_purchased,
    hidden_reviews,
    outbox,
    review_of_user,
    reviews_of,
    visible_ratings,
)
from services.platform.auth import Identity
from services.platform.db import Database
from services.platform.errors import Conflict, Forbidden, InvalidInput, NotFound


def default_reviewer_name(identity: Identity) -> str:
    local = (identity.email or "").split("@", 1)[0].strip()
    return local[:100] or "Shopper"


def recompute_rating(session: Session, product: Product) -> domain.Rating:
    rating = domain.aggregate_rating(imported_sum=product.imported_rating_sum,
                                     imported_count=product.imported_rating_count,
                                     visible=visible_ratings(session, product.id))
    product.rating_sum, product.rating_count = rating.sum, rating.count
    product.updated_at = datetime.now(UTC)
    return rating


class Reviews:
    def __init__(self, *, db: Database):
        self.db = db

    def _product(self, session: Session, product_id: int) -> Product:
        product = session.get(Product, product_id, with_for_update=True)
        if product is None:
            raise NotFound(f"No product {product_id}.")
        return product

    def _review(self, session: Session, review_id: str) -> Review:
        review = session.get(Review, review_id)
        if review is None:
            raise NotFound("No such review.")
        return review

    def _publish(self, session: Session, kind: type[events.ReviewFacts], review: Review,
                 rating: domain.Rating, **extra: object) -> None:
        session.flush()
        outbox.publish(session, kind(
            review_id=review.id, product_id=str(review.product_id), user_id=review.user_id,
            rating=review.rating, verified_purchase=review.verified_purchase,
            product_rating_avg=rating.average, product_rating_count=rating.count, **extra),
            subject=str(review.product_id))

    def submit(self, product_id: int, user: Identity, data: ReviewCreate) -> Review:
        try:
            with self.db.session() as session:
                product = self._product(session, product_id)
                if review_of_user(session, product_id, user.user_id):
                    raise Conflict("You have reviewed this product already; edit your review.",
                                   slug="review-exists")
                review = Review(product_id=product_id, user_id=user.user_id, rating=data.rating,
                                title=data.title, body=data.body,
                                reviewer_name=data.reviewer_name or default_reviewer_name(user),
                                verified_purchase=has_purchased(session, user.user_id, product_id))
                session.add(review)
                session.flush()
                self._publish(session, events.ReviewSubmitted, review,
                              recompute_rating(session, product))
                return review
        except IntegrityError as exc:  # a concurrent submission by the same user won
            raise Conflict("You have reviewed this product already; edit your review.",
                           slug="review-exists") from exc

    def mark_verified(self, session: Session, user_id: str, product_ids: list[int]) -> int:
        """Flag the user's reviews of these products as verified purchases, in the caller's
        transaction (the purchases consumer's); return how many changed."""
        changed = 0
        for review in session.scalars(select(Review).where(
                Review.user_id == user_id, Review.product_id.in_(product_ids),
                Review.verified_purchase.is_(False))):
            review.verified_purchase = True
            product = self._product(session, review.product_id)
            self._publish(session, events.ReviewUpdated, review, recompute_rating(session, product))
            changed += 1
        return changed

    def edit(self, review_id: str, user: Identity, data: ReviewUpdate) -> Review:
        fields = data.model_dump(exclude_unset=True)
        if "rating" in fields and fields["rating"] is None:
            raise InvalidInput("rating cannot be empty.",
                               errors=[{"field": "rating", "message": "cannot be null"}])
        with self.db.session() as session:
            review = self._review(session, review_id)
            if review.user_id != user.user_id:
                raise Forbidden("You can only edit your own review.")
            product = self._product(session, review.product_id)
            for key, value in fields.items():
                setattr(review, key, "" if key == "body" and value is None else value)
            review.updated_at = datetime.now(UTC)
            session.flush()
            self._publish(session, events.ReviewUpdated, review, recompute_rating(session, product))
            return review

    def delete(self, review_id: str, user: Identity) -> None:
        with self.db.session() as session:
            review = self._review(session, review_id)
            if review.user_id != user.user_id and not user.is_admin:
                raise Forbidden("You can only delete your own review.")
            product = self._product(session, review.product_id)
            session.delete(review)
            session.flush()
            self._publish(session, events.ReviewDeleted, review, recompute_rating(session, product))

    def moderate(self, review_id: str, *, hidden: bool, note: str | None) -> Review:
        with self.db.session() as session:
            review = self._review(session, review_id)
            product = self._product(session, review.product_id)
            review.hidden, review.moderation_note = hidden, note
            review.updated_at = datetime.now(UTC)
            session.flush()
            self._publish(session, events.ReviewModerated, review,
                          recompute_rating(session, product), hidden=hidden, note=note)
            return review

    def vote(self, review_id: str, user: Identity, *, helpful: bool) -> tuple[int, bool]:
        """Add (or withdraw) the user's helpful vote; repeating it changes nothing."""
        try:
            with self.db.session() as session:
                review = self._review(session, review_id)
                if review.hidden:
                    raise NotFound("No such review.")
                if review.user_id == user.user_id:
                    raise Forbidden("You cannot vote for your own review.", slug="own-review")
                vote = session.get(ReviewVote, (review_id, user.user_id))
                changed = (vote is None) == helpful
                if helpful and vote is None:
                    session.add(ReviewVote(review_id=review_id, user_id=user.user_id))
                elif not helpful and vote is not None:
                    session.delete(vote)
                session.flush()
                count = session.scalar(select(func.count()).select_from(ReviewVote)
                                       .where(ReviewVote.review_id == review_id)) or 0
                review.helpful_count = count
                if changed:
                    outbox.publish(session, events.ReviewHelpfulVoted(
                        review_id=review_id, product_id=str(review.product_id),
                        user_id=user.user_id, helpful_count=count), subject=str(review.product_id))
                return count, helpful
        except IntegrityError:  # the same user's concurrent vote won: the vote exists
            with self.db.read() as session:
                return self._review(session, review_id).helpful_count, helpful

    def list_for_product(self, product_id: int, *, order: str, offset: int,
                         limit: int) -> tuple[list[Review], int]:
        with self.db.read() as session:
            if session.get(Product, product_id) is None:
                raise NotFound(f"No product {product_id}.")
            return reviews_of(session, product_id, include_hidden=False, order=order,
                              offset=offset, limit=limit)

    def hidden(self, *, offset: int, limit: int) -> tuple[list[Review], int]:
        with self.db.read() as session:
            return hidden_reviews(session, offset=offset, limit=limit)
