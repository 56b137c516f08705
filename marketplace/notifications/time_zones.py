"""The time zones a collector chooses from for digests: the IANA zones Python
knows (`zoneinfo.available_timezones()`), grouped by region with Europe first and
sorted by place, without the legacy aliases (`US/Eastern`, `Etc/GMT+3`, `Cuba`)
that name the same clocks twice; `UTC` stays, and a zone a member already has
is offered even when it is one of those aliases."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

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


def place(zone: str) -> str:
    """`America/Argentina/Buenos_Aires` → `Argentina / Buenos Aires`."""
    return zone.split("/", 1)[-1].replace("_", " ").replace("/", " / ")


@cache
def _listed() -> dict[str, list[str]]:
    by_region: dict[str, list[str]] = {region: [] for region in REGIONS}
    for zone in known_zones():
        region = zone.split("/", 1)[0]
        if "/" in zone and region in by_region:
            by_region[region].append(zone)
    return {region: sorted(zones, key=place) for region, zones in by_region.items()}


def zone_choices(current: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """Region label → (zone, place) pairs for a grouped select; `current` is kept
    in the list if it is a real zone, so saving other settings never drops it."""
    groups: dict[str, list[tuple[str, str]]] = {
        str(REGIONS[region]): [(zone, place(zone)) for zone in zones]
        for region, zones in _listed().items()
        if zones
    }
    other = [(DEFAULT, DEFAULT)]
    if current and current != DEFAULT and is_offered(current) and not _is_listed(current):
        other.append((current, current))
    groups[str(OTHER)] = other
    return groups


def _is_listed(zone: str) -> bool:
    return zone in _listed().get(zone.split("/", 1)[0], [])


def is_offered(zone: str) -> bool:
    """A zone Python knows: what the server accepts, from the form and the API."""
    return zone in known_zones()
