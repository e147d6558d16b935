# One virtualenv in .venv; every target creates it on first use.
VENV    ?= .venv
PY      := $(VENV)/bin/python
HASH    := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The demo needs only the runtime dependencies (~6 s to install); the test tools (moto,
# ruff, …) get their own stamp. checkov gets its own virtualenv: it pins an hcl2 fork that
# shadows python-hcl2 and downgrades boto3 and pytest.
STAMP   := $(VENV)/.installed-run-$(HASH)
TSTAMP  := $(VENV)/.installed-test-$(HASH)
CVENV   ?= .venv-checkov
CSTAMP  := $(CVENV)/.installed-$(HASH)
PORT    ?= 8080
ARCH    ?= x86_64

.PHONY: demo test test-py test-js test-site lint bench package system-deps clean edge

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e .
	rm -f $(VENV)/.installed-* && touch $@

$(TSTAMP): $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

$(CSTAMP): pyproject.toml
	test -x $(CVENV)/bin/python || python3 -m venv $(CVENV)
	$(CVENV)/bin/python -m pip install -q --disable-pip-version-check "$$(sed -n 's/^checkov = \["\(.*\)"\]$$/\1/p' pyproject.toml)"
	rm -f $(CVENV)/.installed-* && touch $@

## demo: set up and run the local endpoint on the bundled sample images
demo: $(STAMP)
	$(VENV)/bin/image-origin serve --originals examples/images --port $(PORT)

## test: set up and run every suite (lint, pytest, node, njs, the site package)
test: $(TSTAMP) $(CSTAMP) system-deps lint test-py test-js test-site

system-deps:
	bash scripts/system-deps.sh

## lint: ruff (rules and formatting) and the one-way import contracts (pyproject.toml)
lint: $(TSTAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

test-py: $(TSTAMP) $(CSTAMP)
	CHECKOV=$(CVENV)/bin/checkov $(VENV)/bin/pytest -q

# The edge function's build tool (terser), pinned by cloudfront/package-lock.json; npm ci
# leaves node_modules/.package-lock.json behind, which serves as the stamp.
EDGE_NPM := cloudfront/node_modules/.package-lock.json

$(EDGE_NPM): cloudfront/package-lock.json
	npm ci --prefix cloudfront --no-audit --no-fund --loglevel=error

## edge: rebuild cloudfront/viewer-request.min.js (what Terraform uploads; commit it)
edge: $(EDGE_NPM)
	node cloudfront/build.mjs

test-js: $(EDGE_NPM)
	node --test cloudfront/test/

## test-site: the npm package in site/: unit tests, then its packed tarball in real strict tsc,
## Next.js and Vite builds loaded in Chromium (site/test/consumers.test.mjs does its one npm ci
## of site/test/fixture/package-lock.json, --prefer-offline, in a temporary directory)
test-site: $(STAMP) $(EDGE_NPM)
	node --test site/test/

## bench: speed, size and memory figures (printed, never asserted)
bench: $(TSTAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,bench]'
	npm ci --prefix bench --no-audit --no-fund --loglevel=error
	$(PY) bench/bench.py

## package: the Lambda zip (ARCH=x86_64 or arm64, Python 3.13) at build/lambda.zip
package: $(STAMP)
	$(VENV)/bin/image-origin package --arch $(ARCH) --python 3.13 -o build/lambda.zip

clean:
	rm -rf $(VENV) $(CVENV) build .pytest_cache .ruff_cache .local-derived cloudfront/node_modules
