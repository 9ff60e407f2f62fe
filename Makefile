# rbmlib -- build, data, tests.
#
#   make venv      create .venv and install rbmlib (editable) with the dev and book extras;
#                  redone only when pyproject.toml changes
#   make data      fetch/verify MNIST into the cache (see rbmlib/data.py for the routes)
#   make all       main job: set up, train, execute the notebooks in place, build the book
#   make notebooks execute every notebook in place (models are trained once per machine)
#   make book      build the HTML book from the executed notebooks (warnings are errors)
#   make test      lint + unit tests + notebook tests (nbval) + book build + browser checks
#   make lint      ruff check and ruff format --check (configured in pyproject.toml)
#   make unit      unit tests only (pytest, $(PYTEST_WORKERS) workers)
#   make chromium  install Debian's chromium if it is missing (for the browser checks)
#   make clean     remove build outputs (keeps .venv and the MNIST cache)

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.rbmlib-installed
PIP_EXTRAS ?= dev,book
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
BUILD ?= build
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
HTML := book/_build/html
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

.PHONY: all venv data notebooks test lint unit nbval book browser chromium clean distclean

# ---------------------------------------------------------------- main job
# Set up, train (through the notebooks, which share a model cache), execute the
# notebooks in place, build the HTML book.
all: venv data notebooks book
	@echo ""
	@echo "The book is at $(abspath $(HTML))/index.html"

notebooks: venv data
	$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.timeout=3600 --ExecutePreprocessor.kernel_name=python3 $(NOTEBOOKS)

# ---------------------------------------------------------------- environment
venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -e '.[$(PIP_EXTRAS)]'
	touch $@

data: venv
	$(PY) -c "from rbmlib.data import load_mnist, default_data_dir as d; \
	x, _ = load_mnist('train'); t, _ = load_mnist('test'); print('MNIST ok:', x.shape, t.shape, 'cache dir:', d())"

# ---------------------------------------------------------------- tests
# Unit tests, then the committed notebooks re-executed and compared by nbval, then
# the book built with warnings as errors and checked page by page in Chromium.
test: lint unit nbval browser

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

unit: venv data
	$(PY) -m pytest -n $(PYTEST_WORKERS) -m "not book" $(PYTEST_ARGS) tests/

nbval: venv data
	$(PY) -m pytest --nbval -n $(PYTEST_WORKERS) --dist loadfile -p no:cacheprovider $(NOTEBOOKS)

book: venv
	$(VENV)/bin/jupyter-book build -W -n --keep-going --path-output book book/

browser: venv chromium
	RBMLIB_REQUIRE_BROWSER=1 $(PY) -m pytest -p no:cacheprovider tests/test_book.py

chromium:
	@if command -v chromium >/dev/null 2>&1; then \
	  echo "chromium: $$(command -v chromium)"; \
	else \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi

# ---------------------------------------------------------------- cleaning
clean:
	rm -rf $(BUILD) _build book/_build .pytest_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
