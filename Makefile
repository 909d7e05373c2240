# sloguard: `make run` starts `sloguard demo` (the server, a demo service, two judged rollouts), `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint typecheck clean bytecode

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# The sources' bytecode, written once here: where PYTHONDONTWRITEBYTECODE is set (as in CI),
# every process the tests start (servers, HTTP senders) would otherwise compile them again.
bytecode: $(STAMP)
	$(PY) -m compileall -q src >/dev/null

run: bytecode
	$(VENV)/bin/sloguard demo

# Two workers (pytest-xdist); a file's tests stay together in one worker, the UI's files
# share one (tests/conftest.py). PYTEST_WORKERS=0 runs them all in this process.
PYTEST_WORKERS ?= 2

test: bytecode
	$(PY) -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: bytecode
	$(PY) bench/run_all.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy src

clean:
	rm -rf $(VENV) data build *.egg-info
