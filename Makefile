# The quick start: `make run` serves the demo site, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
DJANGO ?= $(shell $(PYTHON) -c 'import sys; print("6.1" if sys.version_info >= (3, 12) else "5.2")')
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-django-$(DJANGO)

.PHONY: run test lint setup ci clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/base.txt requirements/test.txt requirements/dev.txt requirements/django-$(DJANGO).txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements/dev.txt -r requirements/django-$(DJANGO).txt -e .
	@rm -f $(VENV)/.installed-django-*
	@touch $@

run: setup
	$(BIN)/python manage.py migrate --noinput
	PORT=$(PORT) $(BIN)/python -m project.demo_account
	$(BIN)/python -m notifications.server -b 127.0.0.1 -p $(PORT) project.asgi:application

test: setup
	scripts/ensure-test-tools
	node --test tests/js/
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

ci:
	.ci/run

clean:
	rm -rf $(VENV) .venv-* var .pytest_cache .mypy_cache .ruff_cache
