# The README's two set-up commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
CONFIG ?= examples/gateway.toml

.PHONY: run test install bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## run: the daemon on the embedded default (SQLite in ./var, SMTP 127.0.0.1:2525, mail to ./var/outbox)
run: install
	$(VENV)/bin/support-gateway --config $(CONFIG) run

## test: install what the tests need (PostgreSQL if none is reachable) and run them all
test: install
	VENV=$(VENV) scripts/test.sh

bench: install
	$(VENV)/bin/python bench/intake.py
