# One obvious command per task. CI runs `.ci/run`, which starts PostgreSQL and Redis and calls `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SPEC := openapi/fluenzr-v1.yaml
SPECTRAL := tools/node_modules/.bin/spectral
JS := sdk/js
JS_MODULES := $(JS)/node_modules/.package-lock.json
CLIENTGEN := .venv-clientgen
PORT ?= 8000
FUZZ_EXAMPLES ?= 25

SMTP_PORT ?= 2525
MOCK_PORT ?= 4010
SANDBOX_PORT ?= 4020
IMAP_PORT ?= 1143

.PHONY: help install install-serve tools js-install run mock sandbox smtp-sink imap-mailbox lint lint-js lint-clients test test-py test-js fuzz fuzz-sqlite fuzz-postgresql fuzz-mock bench bench-import clean

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

$(JS_MODULES): $(JS)/package.json $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

js-install: $(JS_MODULES)  ## the TypeScript SDK's dependencies (sdk/js), pinned by its package-lock.json

# openapi-python-client, as a partner would run it, in its own venv (its pins are not the server's).
$(CLIENTGEN)/bin/openapi-python-client:
	$(PYTHON) -m venv $(CLIENTGEN)
	$(CLIENTGEN)/bin/pip install --quiet --upgrade pip
	$(CLIENTGEN)/bin/pip install --quiet openapi-python-client==0.29.1 mypy==2.4.1
	touch $@

run: install-serve  ## migrate, create a local pro key on first run, serve http://127.0.0.1:$(PORT)/v1
	$(BIN)/fluenzr-server dev --port $(PORT)

mock: install-serve  ## the mock server on the contract's examples, http://127.0.0.1:$(MOCK_PORT)/v1
	$(BIN)/fluenzr-mock --port $(MOCK_PORT)

sandbox: install-serve  ## the real server on a throwaway database with demo data, http://127.0.0.1:$(SANDBOX_PORT)/v1
	$(BIN)/fluenzr-server sandbox --port $(SANDBOX_PORT)

smtp-sink: install-serve  ## a local SMTP sink on 127.0.0.1:$(SMTP_PORT): prints each message, keeps it in .fluenzr/maildir
	$(BIN)/fluenzr-server smtp-sink --port $(SMTP_PORT) --maildir .fluenzr/maildir

imap-mailbox: install-serve  ## a local IMAP mailbox (Dovecot) on 127.0.0.1:$(IMAP_PORT), user sales / sales-password, to drop replies into
	command -v dovecot >/dev/null || test -x /usr/sbin/dovecot || (apt-get update -qq && apt-get install -y -qq --no-install-recommends dovecot-imapd)
	$(BIN)/fluenzr-server imap-mailbox --port $(IMAP_PORT) --dir .fluenzr/imap

lint: install tools lint-js lint-clients  ## contract (openapi-spec-validator, prance, Spectral, generated clients), ruff, mypy
	$(BIN)/openapi-spec-validator $(SPEC)
	$(BIN)/python -c "import prance; prance.ResolvingParser('$(SPEC)', backend='openapi-spec-validator', strict=True)"
	$(SPECTRAL) lint --fail-severity=warn $(SPEC)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy --strict sdk/python/src

# The TypeScript SDK: types generated from the contract are up to date; the build (tsc --strict on the
# SDK); tsc --strict on a file using every method of the built package (with @ts-expect-error lines) and
# on a partner's openapi-fetch code over openapi-typescript's output.
lint-js: js-install  ## the TypeScript SDK and openapi-typescript's output for the contract under tsc --strict
	cd $(JS) && npm run --silent build && npm run --silent typecheck

# The client openapi-python-client generates from the contract, and a file using it, under mypy --strict.
lint-clients: $(CLIENTGEN)/bin/openapi-python-client  ## openapi-python-client's output for the contract under mypy --strict
	rm -rf build/clients/python && mkdir -p build/clients/python
	PATH="$(CURDIR)/$(CLIENTGEN)/bin:$$PATH" $(CLIENTGEN)/bin/openapi-python-client generate --path $(SPEC) \
		--output-path build/clients/python/fluenzr_api_client --meta none --fail-on-warning
	cp tools/clients/usage_python.py build/clients/python/
	cd build/clients/python && $(CURDIR)/$(CLIENTGEN)/bin/mypy \
		--config-file $(CURDIR)/tools/clients/mypy-python-client.ini fluenzr_api_client usage_python.py

test-js: install js-install  ## the TypeScript SDK: build, then node --test vs the real server, the mock, a packed tarball
	cd $(JS) && npm run --silent build && npm test

test-py: install  ## the pytest suite (SQLite always; PostgreSQL/Redis when FLUENZR_TEST_* are set)
	$(BIN)/python -m pytest

fuzz-sqlite: install
	$(BIN)/python scripts/fuzz.py --target sqlite --examples $(FUZZ_EXAMPLES)

fuzz-postgresql: install
	$(BIN)/python scripts/fuzz.py --target postgresql --examples $(FUZZ_EXAMPLES)

fuzz-mock: install
	$(BIN)/python scripts/fuzz.py --target mock --examples $(FUZZ_EXAMPLES)

fuzz: fuzz-sqlite fuzz-postgresql fuzz-mock  ## Schemathesis vs the live server (SQLite, PostgreSQL) and the mock

test: lint test-py test-js fuzz  ## everything CI runs

bench: install  ## throughput/latency vs the bare-Starlette ceiling and Prism (not part of test; as root)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	eval "$$(bash .ci/services.sh)" && $(BIN)/python -m bench.run && $(BIN)/python -m bench.engine
	eval "$$(bash .ci/services.sh)" && $(BIN)/python -m bench.webhooks
	eval "$$(bash .ci/services.sh)" && $(BIN)/python -m bench.bulk_import

bench-import: install  ## 100,000 contacts through the SDK's import_all vs raw multi-row INSERTs (SQLite, PostgreSQL)
	eval "$$(bash .ci/services.sh)" && $(BIN)/python -m bench.bulk_import

clean:
	rm -rf $(VENV) $(CLIENTGEN) build tools/node_modules $(JS)/node_modules $(JS)/dist .mypy_cache .ruff_cache .pytest_cache
