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

# Python writes the bytecode of what it imports (`__pycache__`), even where PYTHONDONTWRITEBYTECODE is set: the
# tests start hundreds of Python processes (hubs, `agentchat` commands, pytest workers rewriting asserts), and each
# would compile every module of agentchat, its tests and pytest's plugins again (a hub start 3-4 s instead of 1).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test pytest flake-hunt lint typecheck bench fuzz api-doc clean

# The venv's own pip installs only uv, the pinned release (requirements.txt); uv installs the rest with the same
# constraints, in a few seconds where pip took most of a minute (tests/test_install.py installs the wheel with it
# too). Not --compile-bytecode: it compiles every module of every package (~20 s of CPU on a fresh clone), where
# the first process to import a module compiles only what is imported and leaves it in __pycache__ for the rest.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.txt uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c requirements.txt -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m agentchat run

# lint and typecheck beside the tests, not before them: mypy with no cache yet (a fresh clone) is 20-25 s of one
# core, which costs the run less beside the tests (they often wait on sockets and child processes) than before them.
# Not --output-sync: it would hold pytest's progress back until the end; ruff's and mypy's lines fall among it.
test: $(STAMP)
	$(MAKE) --no-print-directory --jobs=3 lint typecheck pytest

pytest: $(STAMP)
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
