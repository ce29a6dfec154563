# The two commands a newcomer needs (see README.md):
#   make demo   install budgetbot into .venv and run it against the simulated organization
#   make test   build a fresh virtual environment, install the project into it, lint and test
PYTHON ?= python3
VENV := .venv
TEST_VENV := .venv-test

.PHONY: demo test bench schema

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/budgetbot demo

# The policy files' JSON Schema, committed for editors: regenerate after changing the policy models
# (tests/cli/test_policy_schema.py fails until you do).
schema: $(VENV)/.installed
	$(VENV)/bin/budgetbot schema > policy.schema.json

# Speed and memory against the simulator (not part of the tests); results go in README.md.
bench: $(VENV)/.installed
	$(VENV)/bin/python bench/run.py
	$(VENV)/bin/python bench/queue_bench.py

# Always a fresh environment, as a newcomer's: a dependency missing from pyproject.toml fails here.
test:
	rm -rf $(TEST_VENV)
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/pip install --quiet --upgrade pip
	$(TEST_VENV)/bin/pip install --quiet '.[dev]'
	$(TEST_VENV)/bin/ruff check budgetbot tests bench
	$(TEST_VENV)/bin/ruff format --check budgetbot tests bench
	$(TEST_VENV)/bin/mypy
	$(TEST_VENV)/bin/pytest
