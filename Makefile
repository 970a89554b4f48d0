# Two commands on a fresh machine: `make run` (the main job) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.qsntk-installed

.PHONY: run test test-slow bench install clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# The main job: Fig. 2 of Luo & Halverson (TFIM target), quick settings.
run: $(STAMP)
	$(VENV)/bin/qsntk reproduce luo2023-fig2 --quick --out runs/luo2023-fig2-quick

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow" -n 2 --dist loadfile

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# Speed figures recorded in docs/benchmarks.md (each script prints a table and writes JSON
# to benchmarks/results/; anchors such as neural-tangents get their own venv under .anchors/).
bench: $(STAMP)
	$(PY) benchmarks/bench_kernels.py
	$(PY) benchmarks/bench_ensemble.py

clean:
	rm -rf runs .pytest_cache
