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

# Accuracy on labelled visit notes: the shared development set of real notes beside the clone, then
# the project's own sets labelled blind by a second coder (tests/evalset*, synthetic notes).
DEVSET ?= ../shared/devset
EVALSETS ?= tests/evalset tests/evalset2
eval: $(STAMP)
	@echo "== development set (real visit notes): $(DEVSET)"
	$(PY) $(DEVSET)/score.py --vma $(VENV)/bin/vma $(EVAL_ARGS)
	@for set in $(EVALSETS); do echo "== $$set (synthetic notes, labelled blind)"; \
		$(PY) $(DEVSET)/score.py --vma $(VENV)/bin/vma --cases $$set $(EVAL_ARGS) || exit 1; done

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
