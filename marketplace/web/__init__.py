"""Server-rendered pages: blueprints, error pages, and template helpers."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException


def init_web(app: Flask) -> None:
    from marketplace.web.accounts import bp as accounts_bp
    from marketplace.web.catalogue import bp as catalogue_bp
    from marketplace.web.lists import bp as lists_bp
    from marketplace.web.main import bp as main_bp
    from marketplace.web.matches import bp as matches_bp
    from marketplace.web.notifications import bp as notifications_bp
    from marketplace.web.orders import bp as orders_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(catalogue_bp)
    app.register_blueprint(lists_bp)
    app.register_blueprint(matches_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(orders_bp)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        if request.path.startswith("/api/"):
            from marketplace.api import problem_from_http_exception

            return problem_from_http_exception(exc)  # type: ignore[return-value]
        return render_template("error.html", error=exc), exc.code or 500
