# The quick start: `make run` serves the demo site, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
DJANGO ?= $(shell $(PYTHON) -c 'import sys; print("6.1" if sys.version_info >= (3, 12) else "5.2")')
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run-django-$(DJANGO)
DEV_STAMP := $(VENV)/.installed-dev-django-$(DJANGO)

.PHONY: run test lint setup ci clean

setup: $(DEV_STAMP)

# What the demo site needs, nothing more.
$(RUN_STAMP): pyproject.toml requirements/base.txt requirements/django-$(DJANGO).txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements/base.txt -r requirements/django-$(DJANGO).txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

# The test suite, linters and type checker on top.
$(DEV_STAMP): $(RUN_STAMP) requirements/test.txt requirements/dev.txt
	$(BIN)/python -m pip install -q -r requirements/dev.txt -r requirements/django-$(DJANGO).txt
	@touch $@

run: $(RUN_STAMP)
	$(BIN)/python manage.py migrate --noinput
	PORT=$(PORT) $(BIN)/python -m project.demo_account
	PORT=$(PORT) $(BIN)/python -m project.run

test: $(DEV_STAMP)
	scripts/ensure-test-tools
	node --test tests/js/
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

ci:
	.ci/run

clean:
	rm -rf $(VENV) .venv-* var .pytest_cache .mypy_cache .ruff_cache
