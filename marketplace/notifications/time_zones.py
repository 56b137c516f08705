"""The time zones a collector chooses from for digests: the IANA zones Python
knows (`zoneinfo.available_timezones()`), grouped by region with Europe first and
each named by its city in the reader's language (CLDR, through Babel), sorted by
that name. Legacy aliases (`US/Eastern`, `Etc/GMT+3`, `Cuba`) and old spellings
of the same city (`Europe/Kiev` beside `Europe/Kyiv`) are left out; `UTC` stays,
and a zone a member already has is offered even when it is one of those."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from babel.dates import get_timezone_location
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

# Region prefixes in the order the list shows them; the rest of the zones are aliases.
REGIONS = {
    "Europe": _l("Europe"), "Asia": _l("Asia"), "Africa": _l("Africa"),
    "America": _l("America"), "Atlantic": _l("Atlantic Ocean"), "Indian": _l("Indian Ocean"),
    "Australia": _l("Australia"), "Pacific": _l("Pacific Ocean"),
    "Antarctica": _l("Antarctica"), "Arctic": _l("Arctic"),
}  # fmt: skip
OTHER = _l("Other")
DEFAULT = "UTC"  # what a member has until they choose: the page offers the browser's zone


@cache
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def city(zone: str, locale: str = "en") -> str:
    """`Europe/Tallinn` → "Таллин" in Russian; the zone's own words where CLDR has
    no name for it (`America/Argentina/Buenos_Aires` → "Argentina / Buenos Aires")."""
    try:
        return str(get_timezone_location(zone, locale, return_city=True))
    except LookupError:
        return zone.split("/", 1)[-1].replace("_", " ").replace("/", " / ")


@cache
def _listed() -> dict[str, tuple[str, ...]]:
    """Region → its zones, one per city: where two zones name the same city, the
    one spelled as the city is called today (`Europe/Kyiv`, not `Europe/Kiev`),
    then the fuller name (`America/Argentina/Buenos_Aires`, not the older
    `America/Buenos_Aires`)."""
    by_region: dict[str, dict[str, str]] = {region: {} for region in REGIONS}
    for zone in sorted(known_zones()):
        region = zone.split("/", 1)[0]
        if "/" not in zone or region not in by_region:
            continue
        name = city(zone)
        kept = by_region[region].get(name)
        if kept is None or _better(zone, kept, name):
            by_region[region][name] = zone
    return {region: tuple(zones.values()) for region, zones in by_region.items()}


def _better(zone: str, kept: str, name: str) -> bool:
    def spelled(z: str) -> bool:
        return z.rsplit("/", 1)[-1].replace("_", " ") == name

    if spelled(zone) != spelled(kept):
        return spelled(zone)
    return zone.count("/") > kept.count("/")


@cache
def _named(locale: str) -> dict[str, tuple[tuple[str, str], ...]]:
    return {
        region: tuple(sorted(((z, city(z, locale)) for z in zones), key=lambda p: p[1]))
        for region, zones in _listed().items()
    }


def zone_choices(current: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """Region label → (zone, city) pairs for a grouped select, in the reader's
    language; `current` is kept in the list if it is a real zone, so saving other
    settings never drops it."""
    named = _named(str(get_locale() or "en"))
    groups = {str(REGIONS[region]): list(pairs) for region, pairs in named.items() if pairs}
    other = [(DEFAULT, DEFAULT)]
    if current and current != DEFAULT and is_offered(current) and not _is_listed(current):
        other.append((current, current))
    groups[str(OTHER)] = other
    return groups


def _is_listed(zone: str) -> bool:
    return zone in _listed().get(zone.split("/", 1)[0], ())


def is_offered(zone: str) -> bool:
    """A zone Python knows: what the server accepts, from the form and the API."""
    return zone in known_zones()
