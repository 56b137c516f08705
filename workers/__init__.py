"""Celery workers: `workers.worker` builds the app and exposes its Celery instance;
`workers.tasks` holds the tasks, each a thin call into a service."""
