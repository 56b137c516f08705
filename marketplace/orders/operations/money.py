"""Money in orders: integer minor units beside a currency code, converted exactly
both ways (an amount the currency cannot express is refused, never rounded), shown
as the reader writes money (Babel, in the locale of the request or of the mail being
rendered), and the platform's fee on a sale."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext

from marketplace.core.errors import DomainError
from marketplace.core.i18n import format_amount

# Stripe's currencies without minor units, and those with three decimals.
ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())


def exponent(currency: str) -> int:
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def to_minor(amount: Decimal, currency: str) -> int:
    """An exact amount in minor units; refuses what the currency cannot express."""
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise DomainError(
            gettext(
                "%(amount)s %(currency)s cannot be charged: %(currency)s has %(places)d "
                "decimal places.",
                amount=amount,
                currency=currency,
                places=exponent(currency),
            ),
            field="price",
        )
    return int(scaled)


def from_minor(minor: int | Decimal, currency: str) -> Decimal:
    places = exponent(currency)
    return (Decimal(minor).scaleb(-places)).quantize(Decimal(1).scaleb(-places))


def format_money(minor: int | Decimal, currency: str) -> str:
    """An amount stored in minor units, as the reader writes it: "€12.50" in
    English, "12,50 €" in Russian or Estonian."""
    return format_amount(from_minor(minor, currency), currency)


def platform_fee(amount: int, percent: float) -> int:
    """The platform's share, rounded half up to a whole minor unit. The setting is
    a float only because the environment is text; it is taken as written."""
    fee = (Decimal(amount) * Decimal(str(percent)) / 100).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return max(0, min(amount, int(fee)))
