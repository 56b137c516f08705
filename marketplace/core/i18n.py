"""Languages: which one a request is answered in, and the switch that changes it.

The member's own setting wins, then the choice a visitor made with the switch
(kept in a cookie), then the browser's `Accept-Language`, then English. API
requests follow `Accept-Language` alone: a script asks for what it can read.
Messages come from the gettext catalogues under `translations/`, compiled by
`make translations` (which `make run` and `make test` call); adding a language
is a catalogue there and its code in `LANGUAGES`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from babel.numbers import format_currency
from flask import Blueprint, Flask, current_app, has_request_context, redirect, request
from flask_babel import Babel, force_locale, get_locale
from flask_login import current_user
from werkzeug.wrappers import Response

from marketplace.core.extensions import csrf, db
from marketplace.core.shell_language import environment_language

COOKIE = "lang"
COOKIE_DAYS = 365
# Each language named in itself: how a reader finds theirs in the switch.
NAMES = {"en": "English", "ru": "Русский", "uk": "Українська", "et": "Eesti"}

bp = Blueprint("i18n", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def N_(message: str) -> str:
    """Marks a message for `make messages` where it is defined; it is translated
    (gettext) where it is said, in the language of that moment."""
    return message


def languages() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def language_names() -> dict[str, str]:
    """Each offered language by its code, named in itself."""
    return {code: NAMES.get(code, code) for code in languages()}


def offered_language(locale: str | None) -> str:
    """`locale` if it is an offered language, else the fallback (the first)."""
    offered = languages()
    return locale if locale in offered else offered[0]


def speaks_environment_language(command: F) -> F:
    """A command-line command that talks in the shell's language
    (`LANG=ru_RU.UTF-8 znachki lists import …`), English when the shell asks for
    none we offer."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with force_locale(offered_language(environment_language())):
            return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def select_locale() -> str:
    offered = languages()
    if not has_request_context():
        # Mail and tasks say which language they write in (`force_locale`).
        return offered[0]
    if not request.path.startswith("/api/"):
        if current_user and current_user.is_authenticated:
            own = getattr(current_user, "locale", None)
            if own in offered:
                return str(own)
        chosen = request.cookies.get(COOKIE)
        if chosen in offered:
            return str(chosen)
    return request.accept_languages.best_match(offered) or offered[0]


def select_timezone() -> str | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return getattr(current_user, "timezone", None)
    return None


@bp.post("/language")
def switch() -> Response:
    """The header's language switch: remembered in a cookie for visitors and in
    the member's settings for members."""
    from marketplace.core.web import safe_target

    chosen = request.form.get("lang", "")
    back = safe_target(request.form.get("next"), "/")
    response = redirect(back, 303)
    if chosen not in languages():
        return response
    response.set_cookie(
        COOKIE, chosen, max_age=COOKIE_DAYS * 86400, samesite="Lax", secure=request.is_secure
    )
    if current_user.is_authenticated and getattr(current_user, "locale", None) != chosen:
        current_user.locale = chosen
        db.session.commit()
    return response


def format_amount(amount: Decimal | str | int, currency: str) -> str:
    """An amount in major units (a listing's price, a Want's ceiling) as the
    reader writes money: "€12.50" in English, "12,50 €" in Russian. Digits the
    currency has at Stripe are kept even where CLDR would round them away."""
    locale = get_locale() or "en"
    return format_currency(
        Decimal(str(amount)), currency.upper(), locale=locale, decimal_quantization=False
    )


def init_i18n(app: Flask, translations: str) -> None:
    Babel(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=translations,
    )
    # No CSRF token on the switch: it is on every page, and a token would give
    # every visitor a session; a forged switch only changes the language shown.
    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.add_template_global(format_amount, "price")

    @app.context_processor
    def language_switch() -> dict[str, object]:
        return {
            "language_names": language_names(),
            "current_language": str(get_locale() or languages()[0]),
        }
