# Two commands do all the set-up on a fresh machine: `make demo`, `make test`.
# vma needs Python 3.11 or newer: `make PYTHON=python3.12 test` picks another interpreter.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench eval clean lint manifest

# A .venv built by another Python (the system's was upgraded, or PYTHON names another one this
# time), or whose interpreter is gone, is rebuilt rather than half used. .venv/.python-X.Y records
# the version it was built with; only recipes act on it, so `make -n` changes nothing.
VERSION_OF = -c 'import sys; print("%d.%d" % sys.version_info[:2])'
WANT_PY := $(shell $(PYTHON) $(VERSION_OF) 2>/dev/null)
PYTAG   := $(VENV)/.python-$(or $(WANT_PY),unknown)
ifneq ($(wildcard $(VENV)),)
ifeq ($(shell $(PY) $(VERSION_OF) 2>/dev/null),)
.PHONY: $(PYTAG)
endif
endif

$(PYTAG):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "vma needs Python 3.11 or newer; $(PYTHON) is " + sys.version.split()[0] + ": run make PYTHON=python3.11 (or newer)")'
	@if [ "$$($(PY) $(VERSION_OF) 2>/dev/null)" != "$(WANT_PY)" ]; then \
		if [ -d $(VENV) ]; then echo ".venv is not a working Python $(WANT_PY) venv: rebuilding it"; fi; \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV) && $(PY) -m pip install -q --upgrade pip; \
	fi
	touch $@

# An editable install writes no bytecode for the package, and with PYTHONDONTWRITEBYTECODE set no run
# does either: every `vma check` would compile vma's modules again (a quarter of a one-chart run).
# The compat mode puts the project on sys.path with a plain .pth line; the default mode's import hook
# costs every process about 15 ms at start-up (measured with -X importtime: site 20 ms -> 5.5 ms).
$(STAMP): pyproject.toml setup.py | $(PYTAG)
	$(PY) -m pip install -q -e '.[test]' --config-settings editable_mode=compat
	$(PY) -m compileall -q vma
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/vma demo

test: $(STAMP)
	VMA_STRICT_CHECKS=1 $(PY) -m pytest -q $(PYTEST_ARGS)

# Accuracy on labelled visit notes: the shared development set of real notes beside the clone, then
# the project's own sets labelled blind by a second coder (tests/evalset*; evalset4 and 5 on ACI-Bench notes).
DEVSET ?= ../shared/devset
EVALSETS ?= tests/evalset tests/evalset2 tests/evalset3 tests/evalset4 tests/evalset5
eval: $(STAMP)
	@echo "== development set (real visit notes): $(DEVSET)"
	$(PY) $(DEVSET)/score.py --vma $(VENV)/bin/vma $(EVAL_ARGS)
	@for set in $(EVALSETS); do echo "== $$set (labelled blind)"; \
		$(PY) $(DEVSET)/score.py --vma $(VENV)/bin/vma --cases $$set $(EVAL_ARGS) || exit 1; done

# Bytecode first, as an installed package has it: the figures are of vma, not of compiling it.
bench: $(STAMP)
	$(PY) -m compileall -q vma
	$(PY) -m bench $(BENCH_ARGS)

# slack-manifest.yml is generated: edit vma/integrations/slack/manifest.py, then run this.
manifest: $(STAMP)
	$(VENV)/bin/vma slack manifest --url https://vma.example.org > slack-manifest.yml

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
