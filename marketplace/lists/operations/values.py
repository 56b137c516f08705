"""The values of list entries, checked: conditions (with the names collectors type),
defects, money, quantities, priorities and notes. Every check raises a DomainError
naming its field, so forms, the API and CSV rows can say where a value is wrong.

Money is an amount in a currency in use today (ISO 4217, as CLDR knows it through
Babel) with no more decimals than that currency's minor unit: what a buyer could
actually pay. Prices and maximum prices from pages, the API and CSV files all come
through `parse_money`."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.core import get_global
from babel.numbers import get_currency_precision, get_territory_currencies
from flask_babel import gettext as _

from marketplace.core.errors import DomainError
from marketplace.lists.models import ALL_DEFECTS, DEFECTS, Condition, Defect

MAX_QUANTITY = 100_000
MAX_PRICE = Decimal("99999999.99")
STORED_PLACES = 2  # the price columns are NUMERIC(10, 2)
MAX_NOTES = 2000
_CURRENCY = re.compile(r"^[A-Z]{3}$")

# What a collector may type for each grade of the documented scale (Condition):
# English names and dealers' abbreviations, and the Russian grades with their
# usual short forms, each short form beside its full word (отличное, отл →
# Excellent). An alias belongs to exactly one grade; building the table refuses
# one that would belong to two.
CONDITION_ALIASES: dict[Condition, tuple[str, ...]] = {
    Condition.MINT: ("m", "unc", "uncirculated", "идеальное", "идеал", "новый", "новое"),
    Condition.EXCELLENT: ("ex", "ef", "xf", "extremely fine", "отличное", "отл", "прекрасное"),
    Condition.VERY_FINE: ("vf", "очень хорошее", "оч. хор", "оч хор"),
    Condition.FINE: ("f", "хорошее", "хор"),
    Condition.GOOD: ("g", "удовлетворительное", "удовл"),
    Condition.POOR: ("p", "плохое", "плох"),
}


def _condition_key(value: str) -> str:
    return re.sub(r"[\s_\-.]+", " ", value.lower()).strip()


def _condition_names() -> dict[str, Condition]:
    names: dict[str, Condition] = {}
    for grade, aliases in CONDITION_ALIASES.items():
        for alias in (grade.slug, grade.label, *aliases):
            key = _condition_key(alias)
            if names.get(key, grade) is not grade:
                raise ValueError(f"condition alias {alias!r} names two grades")
            names[key] = grade
    return names


_CONDITION_NAMES = _condition_names()

_DEFECT_NAMES: dict[str, Defect] = {}
for _d in DEFECTS:
    for _alias in (_d.slug, _d.label, _d.slug.replace("_", "-")):
        _DEFECT_NAMES[re.sub(r"[\s_\-]+", " ", _alias.lower()).strip()] = _d
_DEFECT_NAMES.update(
    {"chips": Defect.ENAMEL_CHIPS, "chipped": Defect.ENAMEL_CHIPS, "no pin": Defect.MISSING_PIN}
)
_DEFECT_NAMES.update({"no nut": Defect.MISSING_NUT, "repair": Defect.REPAIRED})


def condition_choices() -> list[tuple[str, str]]:
    return [(c.slug, c.label) for c in sorted(Condition, reverse=True)]


def parse_condition(value: str | Condition | None, field: str = "condition") -> Condition:
    if isinstance(value, Condition):
        return value
    key = _condition_key(value or "")
    if key.isdigit() and int(key) in {int(c) for c in Condition}:
        return Condition(int(key))
    if key not in _CONDITION_NAMES:
        names = ", ".join(c.label for c in sorted(Condition, reverse=True))
        raise DomainError(
            _("Unknown condition '%(value)s'; use one of %(names)s.", value=value, names=names),
            field=field,
        )
    return _CONDITION_NAMES[key]


def parse_defects(value: str | Iterable[str] | int | None, field: str = "defects") -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int):
        if not 0 <= value <= ALL_DEFECTS:
            raise DomainError(_("Unknown defect flags."), field=field)
        return value
    parts = re.split(r"[|,;/+]", value) if isinstance(value, str) else list(value)
    mask = 0
    for part in parts:
        key = re.sub(r"[\s_\-]+", " ", part.lower()).strip()
        if not key:
            continue
        if key not in _DEFECT_NAMES:
            names = ", ".join(d.slug for d in DEFECTS)
            raise DomainError(
                _("Unknown defect '%(value)s'; use %(names)s.", value=part.strip(), names=names),
                field=field,
            )
        mask |= _DEFECT_NAMES[key]
    return mask


def defect_slugs(mask: int) -> list[str]:
    return [d.slug for d in DEFECTS if mask & d]


def parse_money(
    amount: Any, currency: Any, *, field: str = "price"
) -> tuple[Decimal | None, str | None]:
    """An amount with its currency, or neither. The amount must be one the
    currency can express: 12 JPY but not 12.50 JPY, 0.01 EUR but not 0.001 EUR."""
    if amount is None or (isinstance(amount, str) and not amount.strip()):
        if currency not in (None, ""):
            raise DomainError(_("A currency needs an amount beside it."), field=field)
        return None, None
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except InvalidOperation:
        raise DomainError(
            _("'%(value)s' is not an amount of money.", value=amount), field=field
        ) from None
    if not value.is_finite() or value < 0 or value > MAX_PRICE:
        raise DomainError(
            _("The amount must be between 0 and %(max)s.", max=MAX_PRICE), field=field
        )
    code = check_currency(currency)
    places = currency_places(code)
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise DomainError(_too_fine(value, code), field=field)
    # abs() turns "-0" into 0: a price is never negative, not even as zero.
    return abs(value).quantize(Decimal(1).scaleb(-STORED_PLACES)), code


def check_currency(currency: Any, field: str = "currency") -> str:
    """An ISO 4217 code of a currency some country uses today, in capitals."""
    code = str(currency or "").strip().upper()
    if not _CURRENCY.match(code):
        raise DomainError(
            _("Give the currency as a three-letter code such as EUR, USD or RUB."), field=field
        )
    if code not in currencies_in_use():
        raise DomainError(
            _(
                "'%(code)s' is not a currency in use: give its ISO 4217 code, "
                "such as EUR, USD or RUB.",
                code=code,
            ),
            field=field,
        )
    return code


def currency_places(code: str) -> int:
    """Decimals an amount in `code` may have: its minor unit, but no more than the
    price columns keep (the three-decimal dinars are priced to the hundredth)."""
    return min(get_currency_precision(code), STORED_PLACES)


@functools.cache
def currencies_in_use() -> frozenset[str]:
    """Legal tender somewhere today: not a withdrawn currency (SUR, DEM), not a
    fund, metal or test code (XXX, XAU, XTS). Read once per process."""
    today = date.today()
    return frozenset(
        code
        for territory in get_global("territory_currencies")
        for code in get_territory_currencies(territory, today, tender=True)
    )


def _too_fine(value: Decimal, code: str) -> str:
    places = get_currency_precision(code)
    if places == 0:
        return _(
            "%(code)s has no minor unit: give a whole amount such as %(amount)s.",
            code=code,
            amount=format(value, ".0f"),
        )
    if places > STORED_PLACES:
        return _(
            "Prices in %(code)s have at most %(places)d decimal places.",
            code=code,
            places=STORED_PLACES,
        )
    return _(
        "%(code)s has %(places)d decimal places: %(amount)s cannot be paid in it.",
        code=code,
        places=places,
        amount=value,
    )


def check_quantity(value: Any, field: str = "quantity") -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise DomainError(
            _("'%(value)s' is not a whole number.", value=value), field=field
        ) from None
    if number < 1:
        raise DomainError(
            _("The quantity must be at least 1 (got %(number)d).", number=number), field=field
        )
    if number > MAX_QUANTITY:
        raise DomainError(_("The quantity can be at most %(max)d.", max=MAX_QUANTITY), field=field)
    return number


def check_priority(value: Any, field: str = "priority") -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise DomainError(
            _("'%(value)s' is not a priority from 1 to 5.", value=value), field=field
        ) from None
    if not 1 <= number <= 5:
        raise DomainError(
            _("The priority must be from 1 to 5 (got %(number)d).", number=number), field=field
        )
    return number


def check_notes(value: str | None, field: str = "notes") -> str | None:
    value = (value or "").strip()
    if len(value) > MAX_NOTES:
        raise DomainError(_("Use at most %(max)d characters.", max=MAX_NOTES), field=field)
    return value or None
