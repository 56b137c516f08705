"""The trade pages: "My trades", one trade with its history, the propose and
counter form, and the actions (accept, decline, counter, cancel, posted, received,
dispute). Views parse the form, call the `Trades` service and render."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("trades", __name__)
