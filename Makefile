# physgen: two commands set everything up on a fresh machine (see README).
#   make demo   install into ./.venv and run `physgen demo` on built-in data
#   make test   install into ./.venv and run the test suite (TEST_WORKERS=2 processes; 0: one process), printing
#               its 15 slowest tests (PYTEST_ARGS, default "-q --durations=15")
#   make test-slow  the slow statistical tests (TEST_WORKERS processes of OMP_NUM_THREADS threads, default 1)
#   make test-avx2  the test suite with every library held to AVX2 kernels (AVX2_ONLY), as an AVX2-only x86-64 runs it
#   make bench  run every speed benchmark (~30 min) and rewrite the tables in docs/benchmarks.md
#   make notebooks  execute notebooks/*.py into notebooks-out/*.html (quick mode; PHYSGEN_QUICK=0: full)
#   make docs   the documentation site, built strictly into site/ (MkDocs; notebooks executed in quick mode)
# Override the torch version (>= 2.13) with `make test TORCH_VERSION=2.13.0` or TORCH_SPEC="torch>=2.13".
PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
TORCH_SPEC ?= torch==$(TORCH_VERSION)
DEMO_OUT ?= demo-out
DEMO_ARGS ?=
PYTEST_ARGS ?= -q --durations=15
PHYSGEN_QUICK ?= 1
TEST_WORKERS ?= 2
BIN := $(VENV)/bin
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS)
# torch's ATen kernels, oneDNN, MKL, NumPy's dispatch, OpenBLAS and numba's code generation held to AVX2
AVX2_ONLY := ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 \
	NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" OPENBLAS_CORETYPE=Haswell NUMBA_CPU_NAME=haswell

.PHONY: install demo demo-quick test test-slow test-avx2 test-all bench notebooks docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/physgen demo --out $(DEMO_OUT) $(DEMO_ARGS)

demo-quick: install
	$(BIN)/physgen demo --quick --out $(DEMO_OUT) $(DEMO_ARGS)

test: install
	$(PYTEST) $(PYTEST_ARGS)

test-slow: install
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PYTEST) -m slow $(PYTEST_ARGS)

test-avx2: install
	$(AVX2_ONLY) $(PYTEST) $(PYTEST_ARGS)

test-all: install
	$(PYTEST) -m "slow or not slow" $(PYTEST_ARGS)

bench: install
	$(BIN)/python -c "import numba" 2>/dev/null || $(BIN)/python -m pip install -q -e '.[bench]' \
		|| echo "numba could not be installed: the numba reference is skipped"
	$(BIN)/python benchmarks/run_all.py

notebooks: install
	$(BIN)/python -c "import jupytext, nbconvert, ipykernel" 2>/dev/null || $(BIN)/python -m pip install -q -e '.[notebooks]'
	mkdir -p notebooks-out
	for nb in notebooks/[0-9][0-9]_*.py; do \
		name=$$(basename $$nb .py); \
		$(BIN)/jupytext --quiet --to ipynb --output notebooks-out/$$name.ipynb $$nb && \
		PHYSGEN_QUICK=$(PHYSGEN_QUICK) PHYSGEN_NOTEBOOK_OUT=$(CURDIR)/notebooks-out/runs \
			$(BIN)/jupyter nbconvert --to html --execute --ExecutePreprocessor.timeout=3600 \
			--output-dir notebooks-out notebooks-out/$$name.ipynb || exit 1; \
	done

docs: install
	$(BIN)/python -c "import mkdocs, material, mkdocstrings, mkdocs_jupyter, selenium" 2>/dev/null \
		|| $(BIN)/python -m pip install -q -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 PHYSGEN_QUICK=$(PHYSGEN_QUICK) $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) $(DEMO_OUT) build site src/*.egg-info
