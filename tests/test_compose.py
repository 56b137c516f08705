"""docker-compose.yml cannot be run here (no Docker engine), so its shape is
checked: every part of the product is there, wired to the same settings."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_has_every_service_and_healthchecks() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "mailpit"} <= set(services)
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "workers.worker", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "workers.worker", "beat"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "--appendonly" in services["redis"]["command"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["ZNACHKI_ENV"] == "production"


def test_dockerfile_installs_the_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile and "pip install ." in dockerfile
