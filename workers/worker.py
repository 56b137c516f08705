"""Entry point for `celery -A workers.worker worker|beat`: builds the Flask app
(which binds Celery) and exposes its Celery instance."""

import gc

from celery.signals import worker_process_init

from marketplace import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]


@worker_process_init.connect
def _freeze_startup_objects(**_: object) -> None:
    """Everything loaded before the pool forked (the app, the models, the solver
    modules) lives as long as the process: keep it out of the collector. A full
    collection otherwise walks all of it, pausing a match refresh for tens of
    milliseconds (measured on the population benchmark), and touching those
    objects also un-shares the pages the children share with their parent."""
    gc.freeze()


@worker_process_init.connect
def _own_connections(**_: object) -> None:
    """A pool child must not use the connections its parent opened before the
    fork (two processes on one socket or SQLite handle): forget them, unclosed."""
    flask_app.extensions["db_engine"].dispose(close=False)
