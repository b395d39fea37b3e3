# One obvious command per task; .ci/run calls `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SPEC := openapi/fluenzr-v1.yaml
SPECTRAL := tools/node_modules/.bin/spectral
PORT ?= 8000

.PHONY: install tools run mock sandbox test test-py lint fuzz bench clean

$(BIN)/fluenzr-server: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/fluenzr-server  ## create .venv with the project and its dev dependencies

$(SPECTRAL): tools/package.json
	cd tools && npm install --no-audit --no-fund --loglevel=error
	touch $@

tools: $(SPECTRAL)  ## Node tools (Spectral)

run: install  ## migrate, make a local pro account on first run, serve on 127.0.0.1:$(PORT)
	$(BIN)/fluenzr-server dev --port $(PORT)

lint: install tools  ## contract checks, ruff, mypy
	$(BIN)/openapi-spec-validator $(SPEC)
	$(BIN)/python -c "import prance; prance.ResolvingParser('$(SPEC)', backend='openapi-spec-validator', strict=True)"
	$(SPECTRAL) lint --fail-severity=warn $(SPEC)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test-py: install
	$(BIN)/python -m pytest

test: lint test-py  ## everything CI runs

clean:
	rm -rf $(VENV) tools/node_modules .mypy_cache .ruff_cache .pytest_cache
