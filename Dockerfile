# One image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY marketplace ./marketplace
COPY workers ./workers
COPY migrations ./migrations
COPY templates ./templates
RUN pip install . && useradd --create-home znachki
USER znachki
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "marketplace:create_app()"]
