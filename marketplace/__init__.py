"""Znachki Exchange: the Flask application package.

`create_app` builds everything (database, login, CSRF, limiter, API, Celery); importing
this package does nothing else, so the `znachki tradematch` command and the pure
matching engine start without loading the web stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from marketplace.config import Settings


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the app from `settings` (default: the environment). `overrides` set
    Flask config keys, for tests and tools."""
    from marketplace.app import create_app as build

    return build(settings, **overrides)
