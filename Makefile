# Everything a developer or CI runs. `make test` and `make demo` need only python3 (3.11+):
# they create .venv and install the host tooling listed in pyproject.toml by themselves.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: test lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $$($(PYTHON) tools/deps.py)
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check lib tools tests examples boards

test: $(STAMP) lint
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .hypothesis
