# agentchat: `make run` starts the system, `make test` runs every test. Both create .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest-xdist workers, one test file each at a time (a file may share a module-scoped stack), heaviest first
# (tests/conftest.py): the tests mostly wait on sockets and child processes, so more workers than cores pays
TEST_WORKERS ?= 4
TEST_DIST ?= loadfile --no-loadscope-reorder
# make flake-hunt: the whole suite FLAKE_RUNS times beside FLAKE_HOGS CPU-bound processes (tests/flake_hunt.py)
FLAKE_RUNS ?= 3
FLAKE_HOGS ?= 2

.PHONY: run test flake-hunt lint typecheck bench fuzz api-doc clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.txt -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m agentchat run

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist $(TEST_DIST)

flake-hunt: $(STAMP)
	TEST_WORKERS=$(TEST_WORKERS) TEST_DIST="$(TEST_DIST)" $(BIN)/python tests/flake_hunt.py --runs $(FLAKE_RUNS) --hogs $(FLAKE_HOGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/reconnect.py
	$(BIN)/python bench/crosshub.py
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/storm.py
	$(BIN)/python bench/fuzz.py
	$(BIN)/python bench/viewer.py
	$(BIN)/python bench/market.py
	$(BIN)/python bench/history.py

fuzz: $(STAMP)
	$(BIN)/python bench/fuzz.py --examples 500

api-doc: $(STAMP)
	$(BIN)/python -m agentchat.hub.api_reference docs/API.md

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
