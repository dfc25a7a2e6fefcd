# agentchat: `make run` starts the system, `make test` runs every test. Both create .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest-xdist workers, one test file each at a time (a file may share a module-scoped stack): the tests mostly
# wait on sockets and child processes, so more workers than cores pays
TEST_WORKERS ?= 4

.PHONY: run test lint typecheck bench fuzz api-doc clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.txt -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m agentchat run

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

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
	$(BIN)/python -m agentchat.hub.api_reference

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
