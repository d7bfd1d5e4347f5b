# The README's quick start: `make demo` and `make test`, each from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORE := $(VENV)/.fastode-core
STAMP := $(VENV)/.fastode-installed

.PHONY: setup demo test conformance bench clean rust-ref docs

# the package and its kernels: `fastode warmup` compiles every kernel into the package's kernel
# cache (fastode/_kernel_cache, one process per core), so no solve compiles one later
$(CORE): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	$(BIN)/fastode warmup
	touch $(CORE)

# what the tests need besides: torch first, pinned (a looser requirement, torchdiffeq's, would
# fetch a multi-GB CUDA build), then the test, plot and dev (build, mypy) extras
$(STAMP): $(CORE)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test,plot,dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(CORE)
	$(BIN)/fastode demo

test: setup rust-ref
	$(BIN)/python -m pytest -q

# the documentation site into docs/_build/html (Sphinx; warnings are errors; the tutorials in
# docs/tutorials run during the build: a failing tutorial fails it)
docs: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[docs]"
	MPLBACKEND=Agg $(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

# scipy's own solve_ivp tests against fastode (tests/scipy_conformance/run.py)
conformance: setup
	$(BIN)/python tests/scipy_conformance/run.py

bench: setup rust-ref
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[bench]"
	$(BIN)/python bench/compare.py
	$(BIN)/python bench/work_precision.py
	$(BIN)/python -m bench.startup
	$(BIN)/python -m bench.user_cache
	$(BIN)/python bench/rust_vs_numba.py
	$(BIN)/python bench/ensemble_sweep.py
	$(BIN)/python bench/stiff.py
	$(BIN)/python bench/stiff_work_precision.py --from-json bench/out/stiff.json
	$(BIN)/python bench/heat_equation.py --quick
	$(BIN)/python bench/switching.py
	$(BIN)/python bench/step_classes.py
	$(BIN)/python bench/events.py
	NUMBA_NUM_THREADS=1 $(BIN)/python bench/neural_ode.py

# the Rust reference implementation (tests/test_reference.py builds it too when missing)
rust-ref:
	@if command -v cargo >/dev/null 2>&1; then \
		cargo build --release --offline --manifest-path rust_ref/Cargo.toml; \
	else \
		echo "cargo not found: skipping rust_ref (tests/test_reference.py will be skipped)"; \
	fi

clean:
	rm -rf rust_ref/target
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
	rm -rf docs/_build docs/api/generated docs/auto_tutorials docs/auto_figures docs/sg_execution_times.rst
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
