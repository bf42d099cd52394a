# Two commands do everything on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast web lint bench calibrate clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/il2sim demo --out demo_output
	$(BIN)/il2sim run --out demo_output
	$(BIN)/il2sim cohort melanoma --arm nivolumab --n 40 --out demo_output/cohort

# The full gate, on two processes (a test file stays in one, so module fixtures run once).
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The edit loop (under a minute on 2 cores): everything but the tests marked slow.
test-fast: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -m "not slow" -n 2 -q

web: $(STAMP)
	$(BIN)/il2sim web

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_binding.py
	$(BIN)/python benchmarks/bench_body.py
	$(BIN)/python benchmarks/bench_therapy.py
	$(BIN)/python benchmarks/bench_cohort.py
	$(BIN)/python benchmarks/bench_trial_arms.py
	$(BIN)/python benchmarks/bench_petab.py

calibrate: $(STAMP)
	$(BIN)/il2sim calibrate
	$(BIN)/il2sim calibrate --sample

clean:
	rm -rf $(VENV) demo_output test-artifacts build src/*.egg-info .pytest_cache .ruff_cache
