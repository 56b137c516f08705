"""The headers every response carries: what the browser may load and run
(Content-Security-Policy), which device features a page may ask for
(Permissions-Policy), HTTPS only (HSTS, outside development), no framing, no
sniffing, the referrer kept on this site, and `Cache-Control: no-store` on
anything that depends on who asks.

A view that needs other terms sets the header itself (the development mail page
frames a message's HTML; photos choose how long they may be cached); these are
defaults, never overrides.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_login import current_user

# Pages load only this site's stylesheets, scripts and images: no inline
# <script>, style="" or on…= attribute runs (templates keep theirs in static/).
# `data:` images are for the browser's own form controls. Buy and "set up
# payouts" post here and are redirected to Stripe, and browsers hold a form's
# redirect to form-action too, so Stripe's two hosted pages are named.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self' https://checkout.stripe.com https://connect.stripe.com",
        "frame-ancestors 'none'",
    )
)

# Nothing here needs a camera, a microphone, the visitor's location or the
# Payment Request API (Stripe Checkout is a page of its own).
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)

HSTS = "max-age=63072000; includeSubDomains"  # two years

# Pages that hold secrets or private data even for a visitor who is not signed
# in: log-in and sign-up forms, password-reset and confirmation links, the
# development mail, one-click unsubscribe links.
PRIVATE_PREFIXES = ("/account/", "/dev/mail", "/unsubscribe/")


def init_security_headers(app: Flask, *, hsts: bool) -> None:
    """Add the headers to every response; `hsts` outside development only (a
    browser that saw it would refuse plain HTTP to localhost for two years)."""

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if hsts:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if "Cache-Control" not in headers and _private():
            headers["Cache-Control"] = "no-store"
        return response


def _private() -> bool:
    """Whether the response may show something only this visitor should see: it
    answers a signed-in member (by session or token), carries what a form or an
    API call sent, or is one of the private pages."""
    if request.endpoint == "static":
        return False
    if request.method not in ("GET", "HEAD") or "Authorization" in request.headers:
        return True
    if request.path.startswith(PRIVATE_PREFIXES):
        return True
    return bool(current_user.is_authenticated)
