"""The price guide that completed sales feed: per pin and currency, the count,
median and range of sale prices (refunds excluded), drawn as a small inline SVG
chart for the pin page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import format_date, gettext
from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.orders.models import SOLD_STATUSES, Order
from marketplace.orders.operations.money import from_minor


@dataclass(frozen=True)
class Sale:
    at: datetime
    amount: Decimal


@dataclass(frozen=True)
class CurrencyGuide:
    currency: str
    count: int
    median: Decimal
    low: Decimal
    high: Decimal
    sales: list[Sale]

    @property
    def chart(self) -> Markup:
        return price_chart(self)


@dataclass(frozen=True)
class PriceGuide:
    pin_id: int
    currencies: list[CurrencyGuide] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(c.count for c in self.currencies)


def _median(values: Sequence[int]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Decimal(ordered[middle])
    return (Decimal(ordered[middle - 1]) + Decimal(ordered[middle])) / 2


def price_guide(session: Session, pin_id: int) -> PriceGuide:
    """Completed sales of one pin (paid, shipped or delivered; refunds excluded),
    per currency, the most traded currency first. The pin page includes
    `templates/orders/_price_guide.html` with this as `guide`."""
    rows = session.execute(
        select(Order.currency, Order.amount, func.coalesce(Order.paid_at, Order.created_at))
        .where(Order.pin_id == pin_id, Order.status.in_(SOLD_STATUSES))
        .order_by(Order.paid_at, Order.id)
    ).all()
    by_currency: dict[str, list[tuple[int, datetime]]] = {}
    for currency, amount, paid_at in rows:
        by_currency.setdefault(currency, []).append((amount, paid_at))
    guides = []
    for currency, sales in by_currency.items():
        amounts = [a for a, _ in sales]
        median = _median(amounts).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        guides.append(
            CurrencyGuide(
                currency=currency,
                count=len(sales),
                median=from_minor(median, currency),
                low=from_minor(min(amounts), currency),
                high=from_minor(max(amounts), currency),
                sales=[Sale(at, from_minor(a, currency)) for a, at in sales],
            )
        )
    guides.sort(key=lambda g: (-g.count, g.currency))
    return PriceGuide(pin_id, guides)


def price_chart(guide: CurrencyGuide, width: int = 360, height: int = 140) -> Markup:
    """Prices over time as an inline SVG drawn here: points joined by a line, the
    median dashed, the range and the dates on the axes, its words and dates in the
    reader's language. Numbers are written as they are; every word is escaped."""
    left, right, top, bottom = 56, 10, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    times = [s.at.timestamp() for s in guide.sales]
    t0, t1 = min(times), max(times)
    low, high = guide.low, guide.high
    span = (high - low) or Decimal(1)

    def x(t: float) -> float:
        return left + (plot_w / 2 if t1 == t0 else (t - t0) / (t1 - t0) * plot_w)

    def y(v: Decimal) -> float:
        if high == low:
            return top + plot_h / 2
        return top + float((high - v) / span) * plot_h

    points = [(x(t), y(s.amount)) for t, s in zip(times, guide.sales, strict=True)]
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    dots = "".join(
        f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3"><title>{escape(day(s.at))}: '
        f"{s.amount} {guide.currency}</title></circle>"
        for (px, py), s in zip(points, guide.sales, strict=True)
    )
    label = escape(gettext("Sale prices over time in %(currency)s", currency=guide.currency))
    median = escape(gettext("median"))
    median_y = y(guide.median)
    first, last = guide.sales[0].at, guide.sales[-1].at
    svg = (
        f'<svg class="price-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{label}">'
        f'<g font-size="10" fill="#5f6368" font-family="system-ui, sans-serif">'
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{high}</text>'
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">{low}</text>'
        f'<text x="{left}" y="{height - 6}">{escape(day(first))}</text>'
        f'<text x="{left + plot_w}" y="{height - 6}" text-anchor="end">{escape(day(last))}</text>'
        "</g>"
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#ddd"/>'
        f'<line x1="{left}" x2="{left + plot_w}" y1="{median_y:.1f}" y2="{median_y:.1f}" '
        f'stroke="#888" stroke-dasharray="4 3"><title>{median}</title></line>'
        f'<polyline points="{path}" fill="none" stroke="#b22222" stroke-width="1.5"/>'
        f'<g fill="#b22222">{dots}</g></svg>'
    )
    return Markup(svg)  # noqa: S704 - numbers, and words escaped above


def day(at: datetime) -> str:
    """A sale's day as the reader writes dates ("6 Dec 2026", "6 дек. 2026 г.")."""
    return format_date(at, "medium")


def sold_count(session: Session, pin_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(Order.id)).where(
                Order.pin_id == pin_id, Order.status.in_(SOLD_STATUSES)
            )
        )
        or 0
    )
