"""The route table: which upstream serves a path, who may call it, its limits and caching.

Rules are tried in order; the first whose method and path match wins, and an unmatched
`/api/...` path is a 404 at the gateway (upstreams are never reachable by accident).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Access = Literal["public", "user", "admin"]
ANY = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
READ = frozenset({"GET", "HEAD"})
WRITE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Rule:
    name: str
    service: str
    pattern: str
    methods: frozenset[str] = ANY
    access: Access = "user"
    rate: Literal["client", "user", "auth"] = "client"
    cache: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(f"^{self.pattern}$"))


SEG = r"[^/]+"

RULES: tuple[Rule, ...] = (
    Rule("jwks", "users", r"/\.well-known/jwks\.json", READ, "public"),
    Rule("users.auth", "users",
         r"/api/users/(register|token|token/refresh|verify-email|password-reset|password-reset/confirm)",
         frozenset({"POST"}), "public", rate="auth"),
    Rule("users.logout", "users", r"/api/users/logout", frozenset({"POST"}), "user"),
    Rule("users.me", "users", r"/api/users/me(/.*)?", ANY, "user", rate="user"),
    Rule("users.list", "users", r"/api/users", READ, "admin", rate="user"),
    Rule("users.roles", "users", rf"/api/users/{SEG}/roles", frozenset({"PUT"}), "admin", rate="user"),
    Rule("users.read", "users", rf"/api/users/{SEG}", READ, "user", rate="user"),
    # Catalog: public, cached reads; reviews and helpful votes for signed-in users (the service
    # checks ownership); every other write is for admins (moderation included).
    Rule("catalog.read", "catalog", r"/api/catalog(/.*)?", READ, "public", cache=True),
    Rule("catalog.review.submit", "catalog", rf"/api/catalog/products/{SEG}/reviews",
         frozenset({"POST"}), "user", rate="user"),
    Rule("catalog.review.own", "catalog", rf"/api/catalog/reviews/{SEG}",
         frozenset({"PATCH", "DELETE"}), "user", rate="user"),
    Rule("catalog.review.helpful", "catalog", rf"/api/catalog/reviews/{SEG}/helpful",
         frozenset({"PUT", "DELETE"}), "user", rate="user"),
    Rule("catalog.write", "catalog", r"/api/catalog(/.*)?", WRITE, "admin", rate="user"),
    # Analytics: anyone's storefront sends behaviour events; reports and data docs are for admins.
    Rule("analytics.events", "analytics", r"/api/analytics/events", frozenset({"POST"}), "public"),
    Rule("analytics.reports", "analytics", r"/api/analytics/(reports|quality)(/.*)?", READ, "admin",
         rate="user"),
    # Notifications: unsubscribe links are public (the signed token is the credential); the dev
    # mailbox/SMS outbox are checked by the service (open in development, admins elsewhere);
    # campaigns are for admins; the notification centre and preferences for signed-in users.
    Rule("notifications.unsubscribe", "notifications", r"/api/notifications/unsubscribe",
         frozenset({"GET", "HEAD", "POST"}), "public"),
    Rule("notifications.dev", "notifications", r"/api/notifications/dev/(mailbox|sms)", READ,
         "public", rate="user"),
    Rule("notifications.campaigns", "notifications", r"/api/notifications/campaigns",
         frozenset({"POST"}), "admin", rate="user"),
    Rule("notifications.me", "notifications", r"/api/notifications(/.*)?", ANY, "user", rate="user"),
    # Cart: guests reach their own cart through the opaque X-Cart-Token, so the cart routes are
    # public (a token, when sent, is still verified); checkout, merge and snapshots need a user;
    # promotions are for admins. Snapshot accept/release are for the orders service only.
    Rule("cart.promotions", "cart", r"/api/cart/promotions(/.*)?", ANY, "admin", rate="user"),
    Rule("cart.offers", "cart", r"/api/cart/offers", READ, "user", rate="user"),
    Rule("cart.checkout", "cart", r"/api/cart/(checkout|merge)", frozenset({"POST"}), "user", rate="user"),
    Rule("cart.snapshots", "cart", rf"/api/cart/snapshots/{SEG}", READ, "user", rate="user"),
    Rule("cart", "cart", r"/api/cart(/(items|saved|codes)(/.*)?|/prices/acknowledge)?", ANY, "public",
         rate="user"),
    # Inventory: availability is public; adjustments and thresholds for admins; back-in-stock
    # subscriptions for signed-in shoppers (their own); reservations belong to the orders service
    # (admins may inspect or release them).
    Rule("inventory.stock", "inventory", rf"/api/inventory/stock(/{SEG})?", READ, "public", rate="user"),
    Rule("inventory.stock.admin", "inventory", rf"/api/inventory/stock/{SEG}(/adjustments)?", ANY,
         "admin", rate="user"),
    Rule("inventory.subscriptions", "inventory", rf"/api/inventory/subscriptions(/{SEG})?", ANY, "user",
         rate="user"),
    Rule("inventory.reservations", "inventory", r"/api/inventory/reservations(/.*)?", ANY, "admin",
         rate="user"),
    # Recommendations: item, popular and cart shelves are public (not cached: stock moves them);
    # a shopper's shelf and personal offers need a user (the service checks whose); offer rules,
    # grants and the publication status are for admins.
    Rule("recommendations.public", "recommendations",
         rf"/api/recommendations/(popular|items/{SEG}/(similar|bought-together))", READ, "public"),
    Rule("recommendations.cart", "recommendations", r"/api/recommendations/cart", frozenset({"POST"}),
         "public"),
    Rule("recommendations.me", "recommendations", rf"/api/recommendations/(me|me/offers|users/{SEG})",
         READ, "user", rate="user"),
    Rule("recommendations.admin", "recommendations", r"/api/recommendations/(offer-rules(/.*)?|status)",
         ANY, "admin", rate="user"),
    # Orders: shoppers place, read, cancel, return and reorder their own (the service checks
    # whose); the admin list and manual actions are for admins. The payments webhook is internal
    # (payments -> orders directly) and never reachable through the gateway.
    Rule("orders.admin", "orders", r"/api/orders/admin(/.*)?", ANY, "admin", rate="user"),
    Rule("orders", "orders", r"/api/orders(/(?!admin$|webhooks$)[^/]+(/(cancel|returns|reorder))?)?",
         frozenset({"GET", "HEAD", "POST"}), "user", rate="user"),
    # Payments: cards, payments, confirmations and the wallet for signed-in users; capture, void,
    # refunds and the ledger for admins; the (simulated) chain watcher's signed webhook is public.
    Rule("payments.chain", "payments", r"/api/payments/webhooks/chain", frozenset({"POST"}), "public"),
    Rule("payments.admin", "payments", rf"/api/payments/(ledger/balance|{SEG}/(capture|void|refunds))",
         ANY, "admin", rate="user"),
    Rule("payments", "payments", rf"/api/payments(/(cards|wallet|wallet/top-ups|{SEG}|{SEG}/confirm))?",
         frozenset({"GET", "HEAD", "POST"}), "user", rate="user"),
    # Delivery: carriers, pickup points and tracking pages are public, and so are the carriers'
    # signed webhooks; quotes and one's shipments for signed-in users; booking and cancelling
    # shipments for admins (the orders service).
    Rule("delivery.public", "delivery", rf"/api/delivery/(carriers|pickup-points|tracking/{SEG})", READ,
         "public"),
    Rule("delivery.webhooks", "delivery", rf"/api/delivery/webhooks/{SEG}", frozenset({"POST"}), "public"),
    Rule("delivery.quotes", "delivery", rf"/api/delivery/quotes(/{SEG})?", frozenset({"GET", "POST"}),
         "user", rate="user"),
    Rule("delivery.shipments", "delivery", rf"/api/delivery/shipments(/{SEG})?", READ, "user", rate="user"),
    Rule("delivery.shipments.admin", "delivery", r"/api/delivery/shipments(/.*)?", WRITE, "admin",
         rate="user"),
)


def match(rules: tuple[Rule, ...], method: str, path: str) -> Rule | None:
    for rule in rules:
        if method in rule.methods and rule.regex.match(path):
            return rule
    return None
