# One obvious command per task. CI runs `.ci/run`, which starts PostgreSQL and Redis and calls `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SPEC := openapi/fluenzr-v1.yaml
SPECTRAL := tools/node_modules/.bin/spectral
PORT ?= 8000
FUZZ_EXAMPLES ?= 25

.PHONY: help install install-serve tools run mock sandbox lint test test-py fuzz fuzz-sqlite fuzz-postgresql fuzz-mock bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

# Two stamps: serving needs only the server's own dependencies (`make run` is quick on a fresh clone);
# the SDK and the development tools (pytest, Schemathesis, mypy, ruff, ...) come with `make install`.
SERVE := $(VENV)/.installed-serve
DEV := $(VENV)/.installed-dev

$(SERVE): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(DEV): $(SERVE) pyproject.toml sdk/python/pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]' -e sdk/python
	touch $@

install-serve: $(SERVE)  ## .venv with what serving needs (run, mock, sandbox)

install: $(DEV)  ## .venv with the server, the SDK and the dev tools

$(SPECTRAL): tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund --loglevel=error
	touch $@

tools: $(SPECTRAL)  ## Node tools (Spectral), pinned by tools/package-lock.json

run: install-serve  ## migrate, create a local pro key on first run, serve http://127.0.0.1:$(PORT)/v1
	$(BIN)/fluenzr-server dev --port $(PORT)

mock: install-serve  ## the mock server on the contract's examples, http://127.0.0.1:4010/v1
	$(BIN)/fluenzr-mock --port 4010

sandbox: install-serve  ## the real server on a throwaway database with demo data, http://127.0.0.1:4020/v1
	$(BIN)/fluenzr-server sandbox --port 4020

lint: install tools  ## contract (openapi-spec-validator, prance, Spectral), ruff, mypy
	$(BIN)/openapi-spec-validator $(SPEC)
	$(BIN)/python -c "import prance; prance.ResolvingParser('$(SPEC)', backend='openapi-spec-validator', strict=True)"
	$(SPECTRAL) lint --fail-severity=warn $(SPEC)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy --strict sdk/python/src

test-py: install  ## the pytest suite (SQLite always; PostgreSQL/Redis when FLUENZR_TEST_* are set)
	$(BIN)/python -m pytest

fuzz-sqlite: install
	$(BIN)/python scripts/fuzz.py --target sqlite --examples $(FUZZ_EXAMPLES)

fuzz-postgresql: install
	$(BIN)/python scripts/fuzz.py --target postgresql --examples $(FUZZ_EXAMPLES)

fuzz-mock: install
	$(BIN)/python scripts/fuzz.py --target mock --examples $(FUZZ_EXAMPLES)

fuzz: fuzz-sqlite fuzz-postgresql fuzz-mock  ## Schemathesis vs the live server (SQLite, PostgreSQL) and the mock

test: lint test-py fuzz  ## everything CI runs

bench: install  ## throughput/latency vs the bare-Starlette ceiling and Prism (not part of test; as root)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	eval "$$(bash .ci/services.sh)" && $(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) tools/node_modules .mypy_cache .ruff_cache .pytest_cache
