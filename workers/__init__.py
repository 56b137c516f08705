"""Celery workers: `workers.worker` builds the app and exposes its Celery instance;
the tasks live in the features (`marketplace.<feature>.tasks`), each a thin call
into an operation."""
