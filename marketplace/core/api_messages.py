"""What the API says when it refuses a request, in the caller's language
(`Accept-Language`): problem titles, the fixed details, and marshmallow's own
validation messages ("Missing data for required field." …).

Marshmallow formats its messages before the API sees them, so each is matched
against the template it came from and said again through gettext with the
values it carried ("Longer than maximum length 100." → "Длиннее 100 символов.").
A message that matches none (a rule's own sentence) is left as it is.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext
from werkzeug.http import HTTP_STATUS_CODES

from marketplace.core.i18n import N_

TITLES = {
    400: N_("Bad Request"),
    401: N_("Unauthorized"),
    403: N_("Forbidden"),
    404: N_("Not Found"),
    405: N_("Method Not Allowed"),
    409: N_("Conflict"),
    413: N_("Request Entity Too Large"),
    415: N_("Unsupported Media Type"),
    422: N_("Unprocessable Entity"),
    429: N_("Too Many Requests"),
    500: N_("Internal Server Error"),
    503: N_("Service Unavailable"),
}

INVALID_BODY = N_("The request body or parameters are not valid; see errors.")
INVALID_JSON = N_("The request body is not valid JSON.")
NO_TOKEN = N_("Send a valid personal access token: Authorization: Bearer znk_…")

# marshmallow's template (as it formats it) → our msgid with the same values.
MARSHMALLOW = {
    "Missing data for required field.": N_("Missing data for required field."),
    "Field may not be null.": N_("Field may not be null."),
    "Invalid value.": N_("Invalid value."),
    "Invalid input.": N_("Invalid input."),
    "Invalid type.": N_("Invalid type."),
    "Invalid input type.": N_("Invalid input type."),
    "Unknown field.": N_("Unknown field."),
    "Not a valid string.": N_("Not a valid string."),
    "Not a valid utf-8 string.": N_("Not a valid utf-8 string."),
    "Not a valid integer.": N_("Not a valid integer."),
    "Not a valid number.": N_("Not a valid number."),
    "Number too large.": N_("Number too large."),
    "Special numeric values (nan or infinity) are not permitted.": N_(
        "Special numeric values (nan or infinity) are not permitted."
    ),
    "Not a valid boolean.": N_("Not a valid boolean."),
    "Not a valid datetime.": N_("Not a valid datetime."),
    "Not a valid date.": N_("Not a valid date."),
    "Not a valid time.": N_("Not a valid time."),
    "Not a valid list.": N_("Not a valid list."),
    "Not a valid tuple.": N_("Not a valid tuple."),
    "Not a valid mapping type.": N_("Not a valid mapping type."),
    "Not a valid email address.": N_("Not a valid email address."),
    "Not a valid URL.": N_("Not a valid URL."),
    "Not a valid UUID.": N_("Not a valid UUID."),
    "String does not match expected pattern.": N_("String does not match expected pattern."),
    "Must be one of: {choices}.": N_("Must be one of: %(choices)s."),
    "Must be equal to {other}.": N_("Must be equal to %(other)s."),
    "Longer than maximum length {max}.": N_("Longer than maximum length %(max)s."),
    "Shorter than minimum length {min}.": N_("Shorter than minimum length %(min)s."),
    "Length must be between {min} and {max}.": N_("Length must be between %(min)s and %(max)s."),
    "Length must be {equal}.": N_("Length must be %(equal)s."),
    "Must be greater than or equal to {min}.": N_("Must be greater than or equal to %(min)s."),
    "Must be greater than {min}.": N_("Must be greater than %(min)s."),
    "Must be less than or equal to {max}.": N_("Must be less than or equal to %(max)s."),
    "Must be less than {max}.": N_("Must be less than %(max)s."),
    "Must be greater than or equal to {min} and less than or equal to {max}.": N_(
        "Must be greater than or equal to %(min)s and less than or equal to %(max)s."
    ),
}


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(
        f"(?P<{part}>.+?)" if n % 2 else re.escape(part) for n, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$", re.DOTALL)


_PATTERNS = [(_pattern(template), msgid) for template, msgid in MARSHMALLOW.items()]


def title(status: int) -> str:
    msgid = TITLES.get(status)
    return gettext(msgid) if msgid else HTTP_STATUS_CODES.get(status, "Error")


def say(message: str) -> str:
    """One validation message in the caller's language, if it is one we know."""
    for pattern, msgid in _PATTERNS:
        found = pattern.match(message)
        if found:
            values = found.groupdict()
            return gettext(msgid, **values) if values else gettext(msgid)
    return message


def translate_errors(errors: Any) -> Any:
    """Every message in a nested `errors` structure (fields → lists → dicts)."""
    if isinstance(errors, str):
        return say(errors)
    if isinstance(errors, dict):
        return {key: translate_errors(value) for key, value in errors.items()}
    if isinstance(errors, list | tuple):
        return [translate_errors(value) for value in errors]
    return errors
