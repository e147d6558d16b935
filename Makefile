# One virtualenv in .venv; every target creates it on first use.
VENV    ?= .venv
PY      := $(VENV)/bin/python
HASH    := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The demo needs only the runtime dependencies (~6 s to install); the test tools (moto,
# checkov, …) add ~40 s, so they get their own stamp.
STAMP   := $(VENV)/.installed-run-$(HASH)
TSTAMP  := $(VENV)/.installed-test-$(HASH)
PORT    ?= 8080
ARCH    ?= x86_64

.PHONY: demo test test-py test-js lint bench package system-deps clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e .
	rm -f $(VENV)/.installed-* && touch $@

$(TSTAMP): $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

## demo: set up and run the local endpoint on the bundled sample images
demo: $(STAMP)
	$(VENV)/bin/image-origin serve --originals examples/images --port $(PORT)

## test: set up and run every suite (lint, pytest, node, njs)
test: $(TSTAMP) system-deps lint test-py test-js

system-deps:
	bash scripts/system-deps.sh

lint: $(TSTAMP)
	$(VENV)/bin/ruff check .

test-py: $(TSTAMP)
	$(VENV)/bin/pytest -q

test-js:
	node --test cloudfront/test/

## bench: speed, size and memory figures (printed, never asserted)
bench: $(TSTAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,bench]'
	npm ci --prefix bench --no-audit --no-fund --loglevel=error
	$(PY) bench/bench.py

## package: the Lambda zip (ARCH=x86_64 or arm64, Python 3.13) at build/lambda.zip
package: $(STAMP)
	$(VENV)/bin/image-origin package --arch $(ARCH) --python 3.13 -o build/lambda.zip

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .local-derived
