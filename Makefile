# Znachki Exchange. `make run` serves the app with demo data, a worker and beat;
# `make test` runs the whole suite on real PostgreSQL, Redis, SMTP and Celery.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# Links in mail point at the web app. Honcho gives each process its own PORT
# (the worker's is the web port + 100), so the address is passed explicitly.
BASE_URL ?= http://127.0.0.1:$(PORT)
DEV_ENV := ZNACHKI_ENV=development PORT=$(PORT) BASE_URL=$(BASE_URL)

# Gettext catalogues: `make messages` extracts every string marked for
# translation and merges it into each language's catalogue; the compiled .mo
# files are built from them on demand (never committed).
POT := translations/messages.pot
MO_FILES := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))

.PHONY: install run test lint clean messages translations

$(BIN)/python:
	@python3 -m venv $(VENV) 2>/dev/null || { \
	  echo "python3-venv is missing; installing it from the system's packages"; \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q python3-venv && python3 -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

translations: $(MO_FILES)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel -q compile -i $< -o $@

messages: install
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --sort-by-file --no-wrap \
	  --project="Znachki Exchange" -o $(POT) .
	$(BIN)/pybabel -q update -i $(POT) -d translations --no-wrap

run: install translations
	@mkdir -p instance
	$(DEV_ENV) $(BIN)/znachki db upgrade heads
	$(DEV_ENV) $(BIN)/znachki seed-demo
	@echo "Serving $(BASE_URL)  (mail: $(BASE_URL)/dev/mail; Ctrl-C stops everything)"
	$(DEV_ENV) $(BIN)/honcho start -f Procfile.dev -p $(PORT)

test: install translations
	tests/run_suite.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy marketplace workers

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
