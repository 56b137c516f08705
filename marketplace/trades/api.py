"""API resources for trades: `GET|POST /trades`, `GET /trades/{id}` and the
actions `POST /trades/{id}/{accept|decline|counter|cancel|ship|receive|dispute}`."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("api_trades", __name__, description="Trades between collectors")
