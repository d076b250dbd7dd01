# caseflow: the two commands of the README's Quick start, and their helpers.
# Everything installs into .venv from the package registry; nothing is assumed installed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Two workers (the machines have 2 cores); each has its own databases and live server.
PYTEST_ARGS ?= -n 2
PO     := $(wildcard caseflow/translations/*/LC_MESSAGES/messages.po)
MO     := $(PO:.po=.mo)

.PHONY: run test install install-test translations extract-messages bench dist clean

# Links in e-mails and SMS point at the port served (PORT=5101 gives http://127.0.0.1:5101/...),
# unless CASEFLOW_BASE_URL is set (in the environment or in instance/caseflow.env).
run: $(VENV)/.installed translations instance/caseflow.env ## serve the app and the scheduler on SQLite with demo data
	@set -a; . ./instance/caseflow.env; set +a; \
	export CASEFLOW_BASE_URL="$${CASEFLOW_BASE_URL:-http://$(HOST):$(PORT)}"; \
	$(BIN)/caseflow db upgrade && \
	$(BIN)/caseflow demo --if-empty && \
	echo "caseflow at http://$(HOST):$(PORT) (Ctrl-C stops the web server and the scheduler)" && \
	{ $(BIN)/caseflow scheduler & sched=$$!; \
	  trap 'kill $$sched 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/caseflow run --host $(HOST) --port $(PORT); }

test: $(VENV)/.installed-test translations ## the whole suite (SQLite, and PostgreSQL when CASEFLOW_TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

$(VENV)/.installed: $(VENV)/bin/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed setup.cfg
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

translations: $(VENV)/.installed $(MO) ## compile the message catalogues

caseflow/translations/%/LC_MESSAGES/messages.mo: caseflow/translations/%/LC_MESSAGES/messages.po
	$(BIN)/pybabel compile -f -d caseflow/translations -l $* >/dev/null

extract-messages: $(VENV)/.installed ## refresh the catalogues from the source
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -o caseflow/translations/messages.pot --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -i caseflow/translations/messages.pot -d caseflow/translations --no-wrap --ignore-obsolete

instance/caseflow.env:
	@mkdir -p instance
	@$(PYTHON) -c "import secrets; print('# made by make run for this checkout; keep it private'); print('CASEFLOW_SECRET_KEY=' + secrets.token_hex(32)); print('CASEFLOW_DATA_KEY=' + secrets.token_hex(16)); print('CASEFLOW_SECURE_COOKIES=0')" > $@
	@chmod 600 $@
	@echo "made instance/caseflow.env with new random keys for this checkout"

# setup.py compiles the catalogues into the wheel and puts the migrations in it; a fresh
# build/ each time, so nothing removed from the source lingers in the wheel.
dist: $(VENV)/.installed ## build the wheel (compiled catalogues, migrations) into dist/
	rm -rf build
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation -w dist .
	rm -rf build
	@ls -1 dist/caseflow-*.whl

bench: $(VENV)/.installed-test
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
