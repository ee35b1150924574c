# Two commands do all the set-up on a fresh machine: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench eval clean lint

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml setup.py | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/vma demo

test: $(STAMP)
	VMA_STRICT_CHECKS=1 $(PY) -m pytest -q $(PYTEST_ARGS)

# Accuracy on labelled real visit notes: the shared development set beside the clone.
DEVSET ?= ../shared/devset
eval: $(STAMP)
	$(PY) $(DEVSET)/score.py --vma $(VENV)/bin/vma $(EVAL_ARGS)

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
