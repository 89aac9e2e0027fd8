# Two commands on a fresh clone:  `make demo`  and  `make test`. Each sets itself up.
# constraints.txt pins the versions the suite was last run with (pip freeze of .venv).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: demo test lint bench realmodel clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]" -c constraints.txt
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/agentpatterns demo

test: $(VENV)/.installed
	@if [ "$$(id -u)" = "0" ]; then bash .ci/install-system-deps.sh; \
	 else echo "(not root: skipping PostgreSQL/graphviz install; those tests skip if absent)"; fi
	$(PY) -m pytest -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy agentpatterns
	$(VENV)/bin/lint-imports

# a real model on a real server, both runtimes (tests/_llama_server.py installs the server once)
realmodel: $(VENV)/.installed
	$(PY) tests/_llama_server.py
	$(PY) -m pytest -m realmodel -q

bench: $(VENV)/.installed
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .agentpatterns
