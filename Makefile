# The two set-up commands: `make run` (serve the bundled default model) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha256sum requirements.lock | cut -c1-16)

.PHONY: install run test test-unit test-integration bench bench-diarization fixtures clean

install: $(STAMP)

$(STAMP): requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip==25.2
	$(VENV)/bin/pip install --quiet -r requirements.lock
	touch $@

run: install
	$(PY) -m app

test: install
	$(PY) -m pytest

test-unit: install
	$(PY) -m pytest tests/unit tests/api

test-integration: install
	$(PY) -m pytest tests/integration

bench: install
	$(PY) scripts/bench.py

bench-diarization: install
	$(PY) scripts/bench_diarization.py

fixtures:
	scripts/make_fixtures.sh

clean:
	rm -rf $(VENV) .pytest_cache
