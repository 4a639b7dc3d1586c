# Thin wrappers: every target calls a real entry point (`shop ...` or pytest).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: up test bench install lint

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

up: install
	$(VENV)/bin/shop up

test: install
	$(VENV)/bin/python -m pytest

bench: install
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk nginx) || \
		echo "wrk could not be installed: HTTP benchmarks will be skipped"
	$(VENV)/bin/shop bench

lint: install
	$(VENV)/bin/ruff check .
