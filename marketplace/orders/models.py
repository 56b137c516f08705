"""Buying and selling: sellers' payment accounts (Stripe Connect), orders for one
copy of a listed Have, and the Stripe events we received.

Money is integer minor units beside its ISO currency (what Stripe takes), never
float. A copy being paid for is held by `haves.reserved` (0 ≤ reserved ≤ quantity);
`Order.holds_reservation` says whether this order holds one of those units, so
releasing it is a conditional update that can happen once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import Base, utcnow
from marketplace.lists.models import Condition, ConditionType

ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "expired", "refunded", "cancelled")
SOLD_STATUSES = ("paid", "shipped", "delivered")


class SellerAccount(Base):
    """A collector's Stripe Connect (Express) account and what Stripe last told us
    about it (`account.updated`)."""

    __tablename__ = "seller_accounts"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    stripe_account_id: Mapped[str] = mapped_column(String(255), unique=True)
    charges_enabled: Mapped[bool] = mapped_column(default=False)
    payouts_enabled: Mapped[bool] = mapped_column(default=False)
    details_submitted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def can_be_paid(self) -> bool:
        return self.charges_enabled and self.payouts_enabled


class Order(Base):
    """One copy bought through Checkout. pending → paid → shipped → delivered, or
    expired / cancelled (never paid) / refunded. The pin, condition and price are
    copied from the listing, which may change or disappear afterwards."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in ORDER_STATUSES) + ")", name="status"
        ),
        CheckConstraint("quantity = 1", name="quantity"),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("platform_fee >= 0 AND platform_fee <= amount", name="platform_fee"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refunded"),
        CheckConstraint("NOT holds_reservation OR status = 'pending'", name="reservation"),
        Index("ix_orders_buyer_id_id", "buyer_id", "id"),
        Index("ix_orders_seller_id_id", "seller_id", "id"),
        Index("ix_orders_pin_id_status_paid_at", "pin_id", "status", "paid_at"),
        Index("ix_orders_status_reserved_until", "status", "reserved_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    have_id: Mapped[int | None] = mapped_column(
        ForeignKey("haves.id", ondelete="SET NULL"), index=True
    )
    pin_id: Mapped[int | None] = mapped_column(ForeignKey("pins.id", ondelete="SET NULL"))
    condition: Mapped[Condition] = mapped_column(ConditionType())
    quantity: Mapped[int] = mapped_column(default=1)
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    platform_fee: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    holds_reservation: Mapped[bool] = mapped_column(default=False)
    reserved_until: Mapped[datetime | None]
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    stripe_account_id: Mapped[str] = mapped_column(String(255))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    # Where the seller sends the copy: the buyer's address as given at checkout
    # (or as Stripe Checkout collected it), copied so later edits cannot move it.
    ship_to: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    refund_id: Mapped[str | None] = mapped_column(String(255))
    refunded_amount: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    paid_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    disputed_at: Mapped[datetime | None]

    buyer = relationship("User", foreign_keys=[buyer_id])
    seller = relationship("User", foreign_keys=[seller_id])
    pin = relationship("Pin")


class StripeEvent(Base):
    """Every verified webhook, stored once by Stripe's event id (a redelivery hits
    the unique constraint and changes nothing), then processed by a task."""

    __tablename__ = "stripe_events"
    __table_args__ = (Index("ix_stripe_events_processed_at_id", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str | None] = mapped_column(String(255))
    livemode: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
