# Government Backstage: `make up` runs the lab, `make test` runs every test.
# Every target installs what it needs first, and skips what is already installed.
SHELL := /bin/bash
# The venv is built on the system's Python (Debian's /usr/bin/python3 where present): run as root, each
# participant's server runs as their own Unix user, who must be able to execute it (a Python under /root is not).
PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)
VENV := .venv
PY := $(VENV)/bin/python
KERNEL_CONFIG := $(VENV)/etc/ipython/ipython_kernel_config.py
PORT ?= $(or $(BACKSTAGE_PORT),8000)

# Tests (and hack-day venues) read the datasets from a local mirror when one is beside the repo.
ifneq ($(wildcard ../shared/datasets/SOURCES.md),)
export GOVDATA_MIRROR ?= $(abspath ../shared/datasets)
endif

.PHONY: vendor up test test-unit bench lint install browser clean help

help:
	@echo "make up     install everything and start the lab on http://127.0.0.1:$(PORT)"
	@echo "make test   install everything and run the whole test suite"
	@echo "make bench  run the benchmarks (each prints a ratio or a load summary)"
	@echo "make lint   ruff"

install: $(VENV)/.installed $(KERNEL_CONFIG) node_modules/.installed vendor browser

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --progress-bar on -e '.[test]'
	touch $@

# Read by every IPython kernel of the venv (participants', dashboards', checks'): backstage/zmq_wakeups.py.
$(KERNEL_CONFIG): hub/etc/ipython/ipython_kernel_config.py | $(PY)
	install -D -m 644 $< $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Front-end assets the lab serves itself (no CDN), copied from the npm packages.
DASHBOARD_STATIC := hub/backstage/gallery/dashboard_template/voila/templates/backstage-dashboard/static

vendor: govdata/_vendor/.installed hub/backstage/static/vendor/.installed $(DASHBOARD_STATIC)/.built

govdata/_vendor/.installed: node_modules/.installed
	rm -rf govdata/_vendor && mkdir -p govdata/_vendor/leaflet
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css node_modules/leaflet/LICENSE govdata/_vendor/leaflet/
	cp -r node_modules/leaflet/dist/images govdata/_vendor/leaflet/
	touch $@

hub/backstage/static/vendor/.installed: node_modules/.installed
	rm -rf hub/backstage/static/vendor && mkdir -p hub/backstage/static/vendor
	cp -r node_modules/govuk-frontend/dist/govuk hub/backstage/static/vendor/govuk-frontend
	touch $@

# The gallery dashboards' front end: minified ES modules and one stylesheet (see dashboard_frontend/dashboard.js).
$(DASHBOARD_STATIC)/.built: Makefile node_modules/.installed $(wildcard hub/backstage/gallery/dashboard_frontend/*.js)
	rm -rf $(DASHBOARD_STATIC) && mkdir -p $(DASHBOARD_STATIC)
	node_modules/.bin/esbuild hub/backstage/gallery/dashboard_frontend/dashboard.js --bundle --minify --splitting \
	  --format=esm --target=es2020 --loader:.svg=dataurl --loader:.woff=dataurl --loader:.woff2=dataurl \
	  --loader:.ttf=dataurl --loader:.eot=dataurl --chunk-names=[name] --legal-comments=linked --outdir=$(DASHBOARD_STATIC) \
	  --log-level=warning
	touch $@

# Debian's Chromium, for the gallery's thumbnails and the browser tests (Playwright drives it), and
# libnss-myhostname, so that Python (glibc) resolves <name>.localhost to loopback as browsers do: each
# person's server and each service has a host of its own (JupyterHub.subdomain_host).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium (once)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	  else \
	    echo "chromium is missing: run 'sudo apt-get install chromium' once (thumbnails and browser tests need it)"; exit 1; \
	  fi; }
	@getent hosts backstage-check.localhost >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's libnss-myhostname (once): *.localhost resolves to loopback"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnss-myhostname >/dev/null; \
	  else \
	    echo "*.localhost does not resolve: run 'sudo apt-get install libnss-myhostname' once (each person's server has a host of its own)"; exit 1; \
	  fi; }

up: install
	$(VENV)/bin/backstage up

test: install
	$(PY) -m pytest tests
	$(PY) -m pytest -p no:cacheprovider --nbval-lax --sanitize-with tests/nbval_sanitize.cfg notebooks

test-unit: install
	$(PY) -m pytest tests/unit

bench: install
	@set -e; for script in benchmarks/[!_]*.py; do echo "== $$script"; $(PY) $$script; done

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) node_modules
