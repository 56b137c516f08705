"""What the catalogue's coded values are called on a page, in the reader's
language: pin types, materials, finishes, techniques, attachments, republics,
and the actions of a pin's history. The codes themselves (models) stay as
stored, imported and sent by the API; only pages show these words."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

LABELS: dict[str, dict[str, LazyString]] = {
    "pin_type": {
        "award": _l("award"),
        "official": _l("official"),
        "souvenir": _l("souvenir"),
        "jubilee": _l("jubilee"),
        "corporate": _l("corporate"),
        "sport": _l("sport"),
        "membership": _l("membership"),
    },
    "material": {
        "aluminium": _l("aluminium"),
        "tombac": _l("tombac"),
        "brass": _l("brass"),
        "cupronickel": _l("cupronickel"),
        "silver": _l("silver"),
        "gold": _l("gold"),
        "bronze": _l("bronze"),
        "steel": _l("steel"),
        "plastic": _l("plastic"),
    },
    "finish": {"gilding": _l("gilding"), "silvering": _l("silvering")},
    "technique": {
        "stamped": _l("stamped"),
        "hot_enamel": _l("hot enamel"),
        "cold_enamel": _l("cold enamel"),
        "paint": _l("paint"),
        "overlay": _l("overlay"),
    },
    "attachment": {
        "pin": _l("pin"),
        "screw_post": _l("screw post"),
        "hanging_block": _l("hanging block"),
    },
    "republic": {
        "USSR": _l("USSR"),
        "RSFSR": _l("RSFSR"),
        "Ukrainian SSR": _l("Ukrainian SSR"),
        "Byelorussian SSR": _l("Byelorussian SSR"),
        "Uzbek SSR": _l("Uzbek SSR"),
        "Kazakh SSR": _l("Kazakh SSR"),
        "Georgian SSR": _l("Georgian SSR"),
        "Azerbaijan SSR": _l("Azerbaijan SSR"),
        "Lithuanian SSR": _l("Lithuanian SSR"),
        "Moldavian SSR": _l("Moldavian SSR"),
        "Latvian SSR": _l("Latvian SSR"),
        "Kirghiz SSR": _l("Kirghiz SSR"),
        "Tajik SSR": _l("Tajik SSR"),
        "Armenian SSR": _l("Armenian SSR"),
        "Turkmen SSR": _l("Turkmen SSR"),
        "Estonian SSR": _l("Estonian SSR"),
        "Mongolia": _l("Mongolia"),
    },
    "action": {
        "create": _l("created"),
        "edit": _l("edited"),
        "import": _l("imported"),
        "revert": _l("reverted"),
        "submission": _l("from a member's submission"),
    },
    "kind": {"new": _l("new pin"), "correction": _l("correction")},
    "status": {"pending": _l("waiting"), "approved": _l("approved"), "rejected": _l("rejected")},
}


def label(kind: str, value: str | None) -> str:
    """`value` of `kind` ("material", "aluminium") as the reader's language
    calls it; a value without a label (a city, a new code) as it is."""
    if value is None:
        return ""
    found = LABELS.get(kind, {}).get(value)
    return str(found) if found is not None else value.replace("_", " ")


__all__ = ["LABELS", "label"]
