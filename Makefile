# Two commands do everything on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast docs web lint bench calibrate lock clean

# Installs the locked versions (requirements-lock.txt), then il2sim itself without resolving
# again; pyproject.toml holds the compatible ranges a user's own environment may resolve.
$(STAMP): pyproject.toml requirements-lock.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-lock.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/il2sim demo --out demo_output
	$(BIN)/il2sim run --out demo_output
	$(BIN)/il2sim cohort melanoma --arm nivolumab --n 40 --out demo_output/cohort

# The full gate, on two processes (a test file stays in one, so module fixtures run once).
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The edit loop (under a minute on 2 cores): everything but the tests marked slow.
test-fast: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -m "not slow" -n 2 -q

# The documentation site (site/index.html; works offline): MkDocs with the README's sections,
# API pages from the docstrings, the CLI help, and the tutorial notebooks executed (a failing
# notebook fails the build).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

web: $(STAMP)
	$(BIN)/il2sim web

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_binding.py
	$(BIN)/python benchmarks/bench_body.py
	$(BIN)/python benchmarks/bench_therapy.py
	$(BIN)/python benchmarks/bench_cohort.py --plain 200
	$(BIN)/python benchmarks/bench_trial_arms.py
	$(BIN)/python benchmarks/bench_petab.py

calibrate: $(STAMP)
	$(BIN)/il2sim calibrate
	$(BIN)/il2sim calibrate --sample

# Re-resolve the ranges in a scratch environment and write the lock file from it.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev,docs]'
	{ sed -n '1,2p' requirements-lock.txt; .lock-venv/bin/python -m pip freeze --exclude-editable; } > requirements-lock.new
	mv requirements-lock.new requirements-lock.txt && rm -rf .lock-venv

clean:
	rm -rf $(VENV) demo_output test-artifacts build site .cache src/*.egg-info .pytest_cache .ruff_cache
