"""What the tests share, apart from pytest fixtures (those stay in the
conftest.py files and import from here). No test module imports another test
module; they import from these:

- `app`: settings for the testing environment, database URLs (SQLite file or a
  database on the suite's PostgreSQL server), Alembic migration, wiping committed
  data, the test client class, and `ROOT`, the repository's root.
- `web`: browser forms with their CSRF token, logging in, API bearer tokens.
- `factories`: factory_boy factories for collectors, themes, pins, Haves and
  Wants; `make_user` (the factory) and `signed_up_user` (the real sign-up).
- `catalogue`: pins entered through the catalogue service, and a small
  catalogue of real-looking pins for search tests.
- `lists`: pins by catalogue number and themes by path, as the list tests write them.
- `orders`: a seller who can be paid, listings for sale, signed Stripe webhooks.
- `images`: image files for photo uploads.
- `worker`: a `celery worker` process, as production runs it.
- `smtp_server`: a real SMTP server on loopback whose replies tests script.
- `stripe_server`: a local Stripe-compatible HTTP server and Stripe's webhook
  signing.
"""
