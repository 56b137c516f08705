"""Entry point for `celery -A workers.worker worker|beat`: builds the Flask app
(which binds Celery) and exposes its Celery instance."""

from marketplace import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
