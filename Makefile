# Everything a developer or CI runs. `make test` and `make demo` need only python3 (3.11+):
# they create .venv and install the host tooling listed in pyproject.toml by themselves.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: test check lint venv clean server demo bench bench-native typecheck mpy deploy deploy-dry inbox-check

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $$($(PYTHON) tools/deps.py)
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check $(wildcard lib tools tests examples boards)

# the whole suite, in parallel (pytest-xdist): every test is independent of the others and
# bounded by pytest-timeout; PYTEST_ARGS="-n 0" runs it in one process
test: $(STAMP) lint
	$(PY) -m pytest -n $(WORKERS) $(PYTEST_ARGS)

WORKERS ?= 4

# the fast lane (under 30 s): lint, the portable suite on CPython and once under MicroPython
# (from .mpy), the unit tests of the fields, bodies and API rules; no network
check: $(STAMP) lint
	$(PY) -m pytest -n 2 -q $(CHECK_TESTS)

CHECK_TESTS = tests/portable tests/test_fields.py tests/test_form.py tests/test_api_cases.py \
              tests/test_server_rules.py "tests/test_micropython.py::test_portable_suite[mpy]"

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .hypothesis

PORT ?= 8765

# a local Pushover in the foreground, on 127.0.0.1:$(PORT); messages kept in server-data/
server: $(STAMP)
	$(PY) tools/pushover_server.py --port $(PORT)

# the inbox in headless Chromium (Debian: apt-get install -y chromium): a screenshot in
# build/inbox.png, and a check that new messages appear without a reload; not part of `test`
inbox-check: $(STAMP)
	$(PY) tools/inbox_check.py

# start a local Pushover, send a text and an image through the library, show what arrived
demo: $(STAMP)
	$(PY) tools/demo.py

# heap against attachment size on MicroPython (library vs body built in RAM), streaming
# throughput on CPython as ratios, and a plot in build/bench-heap.png; then what import and
# a send cost next to a bare streaming sender (bench_lean.py); then the local server's
# kept-alive against one-connection-per-message time (a ratio); then pushover.aio: the longest
# gap a 10 ms task sees during a 5 MB send, heap and per chunk; each fails on its bounds
bench: $(STAMP)
	$(PY) tools/bench.py
	$(PY) tools/bench_lean.py
	$(PY) tools/bench_server.py
	$(PY) tools/bench_aio.py

# the same figures on a 32-bit native MicroPython core with a working collector, and on a
# second build of it with the package frozen in (tools/nativecore: fetches MicroPython 1.23's core source with pip; needs gcc
# with 32-bit support, Debian's gcc-multilib); fails on that core's bounds. Not in `make test`
NATIVE = build/nativecore
bench-native: $(STAMP)
	$(PY) tools/nativecore/build.py
	$(PY) tools/bench_lean.py --micropython $(NATIVE)/micropython32 --mpy-cross \
		$(NATIVE)/mpy-cross --requests $(NATIVE)/fw --frozen $(NATIVE)/micropython32-frozen \
		--fw-requests $(NATIVE)/micropython32-requests --native-bounds --step 64

# lib/ and examples/ against the ESP32 firmware's stubs (also part of `make test`)
typecheck: $(STAMP)
	$(PY) tools/typecheck.py

# --- on a board -------------------------------------------------------------------------
# make deploy BOARD=esp32 PORT=/dev/ttyUSB0 [EXAMPLE=temperature_alert] [REQUESTS=1] [LINES=1]
# PORT is the board's serial port here (the TCP port of `make server` otherwise); without it
# mpremote takes the first USB serial port it finds. Needs settings.py (examples/settings_template.py).
BOARD   ?= esp32
SERIAL   = $(if $(filter command line environment,$(origin PORT)),$(PORT),auto)
DEPLOY   = $(PY) tools/deploy.py --board $(BOARD) --port $(SERIAL) \
           $(if $(EXAMPLE),--example $(EXAMPLE)) $(if $(REQUESTS),--install-requests) \
           $(if $(filter-out 0,$(LINES)),--line-numbers)

# compile lib/ with mpy-cross for $(BOARD) into build/mpy/$(BOARD)/pushover
mpy: $(STAMP)
	$(PY) tools/deploy.py --board $(BOARD) --compile-only $(if $(filter-out 0,$(LINES)),--line-numbers)

deploy: $(STAMP)
	$(DEPLOY)

# compile, then print the exact mpremote commands of `make deploy` without running them
deploy-dry: $(STAMP)
	$(DEPLOY) --dry-run
